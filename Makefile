# Two commands do everything: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
NODE_STAMP := node_modules/.installed

.PHONY: demo test lint bench bench-soak bench-tls conformance security clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"' \
		|| { echo "error: Python 3.11 or newer is required (set PYTHON=...)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) \
		|| { rm -rf $(VENV); echo "error: python venv is unavailable; on Debian/Ubuntu: apt-get install python3-venv"; exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# hls.js for the portal, pinned in package-lock.json; served from node_modules, never a CDN.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is required for the player (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: $(STAMP) $(NODE_STAMP)
	$(BIN)/streaming demo

# Most tests wait on servers and clocks more than they compute, so three run at once (one module
# per process: its fixtures are built once); the ones judged in real time run alone afterwards.
# The browser tests run in their own pytest processes: Playwright's sync API drives an event loop
# in the main thread, which must not leak into the asyncio tests.
PARALLEL := -n 3 --dist loadfile

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest --ignore=tests/browser -m "not serial" $(PARALLEL)
	$(BIN)/python -m pytest --ignore=tests/browser -m serial
	# The edge tests again with every edge a POP of two worker processes (--workers 2).
	STREAMING_EDGE_WORKERS=2 $(BIN)/python -m pytest tests/edge -q --ignore=tests/edge/test_workers.py $(PARALLEL)
	$(BIN)/python -m pytest tests/browser -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check streaming cli procs origin edge media portal experiments tests bench
	$(BIN)/mypy streaming cli procs origin edge media portal experiments

bench: $(STAMP)
	$(BIN)/python -m bench

# Edge memory: 200 real-time viewers for 10 minutes on a POP of 2 workers whose 16 MiB memory
# tiers the videos outgrow; RSS per worker and its slope go to docs/performance.md's "Edge soak".
bench-soak: $(STAMP)
	$(BIN)/python -m bench --targets "" --all-cores 0 --soak 600 --soak-viewers 200

# HTTPS hits against nginx with the same certificate, HTTP/3 against HTTP/2 (docs/performance.md).
bench-tls: $(STAMP)
	$(BIN)/python -m bench.tls

# The HTTP caching test suite (npm http-cache-tests) against one POP of ours and Debian nginx;
# writes docs/conformance.md (raw results in .bench/conformance/).
conformance: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m bench.conformance

# The hostile-request suite against real processes, with its figures for docs/security.md.
security: $(STAMP)
	$(BIN)/python -m tests.security.report

clean:
	rm -rf $(VENV) .demo .data .pytest_cache .mypy_cache .ruff_cache node_modules
