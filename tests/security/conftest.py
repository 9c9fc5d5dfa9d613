"""One demo-shaped stack for the whole hostile-request suite, and its tally.

The stack (real origin and edge processes) is started once for this package and always reaped. The
ledger's figures (requests tried, private bytes leaked, 5xx answers, processes still serving)
are written to `<pytest basetemp>/security-summary.json` and printed at the end of the run;
`python -m tests.security.report` runs the suite and prints them for docs/security.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from media.samples import make_clip
from tests.security import slow
from tests.security.ledger import Ledger, fingerprints
from tests.security.probe import Prober
from tests.security.stack import SecureStack, secure_stack

SUMMARY = "security-summary.json"
_written: list[Path] = []


@pytest.fixture(scope="package")
def stack(
    tmp_path_factory: pytest.TempPathFactory, clip: Path, ffmpeg: str
) -> Iterator[SecureStack]:
    tmp = tmp_path_factory.mktemp("security")
    other = asyncio.run(make_clip(ffmpeg, tmp / "other.mp4", seconds=3, width=256, height=144))
    with secure_stack(tmp, clip, other) as s:
        yield s


@pytest.fixture(scope="package")
def ledger(stack: SecureStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    private = {o.path: o.body for o in stack.objects}
    book = Ledger(
        fingerprints(private, stack.readable),
        {"the target's original file name": stack.filename.encode()},
        stack.target,
    )
    book.note("private_objects", len(private))
    book.note("live_channel", stack.live)
    yield book
    path = tmp_path_factory.getbasetemp() / SUMMARY
    book.write(path)
    _written.append(path)


@pytest.fixture(scope="package")
def prober(stack: SecureStack, ledger: Ledger) -> Prober:
    """The suite's client; creating it starts the slow and idle connections (slow.py), so their
    wait overlaps every test that sends anything."""
    found = Prober(stack, ledger)
    found.holds = slow.start({c: stack.address(c) for c in ("edge", "origin")})
    return found


@pytest.fixture(scope="package")
def holds(prober: Prober) -> list[slow.Hold]:
    return prober.holds


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The survival checks run last in this package: they judge the processes after every other
    hostile test, and the package-scoped stack stops right after them."""
    here = Path(__file__).parent
    last = [i for i in items if i.path == here / "test_survival.py"]
    rest = [i for i in items if i not in last]
    ours = [n for n, i in enumerate(rest) if i.path.parent == here]
    at = ours[-1] + 1 if ours else len(rest)
    items[:] = rest[:at] + last + rest[at:]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for path in _written:
        terminalreporter.write_sep("-", "hostile-request suite")
        terminalreporter.write_line(f"summary: {path}")
        terminalreporter.write_line(path.read_text())
