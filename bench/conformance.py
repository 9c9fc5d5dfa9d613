"""`python -m bench.conformance` (`make conformance`): the HTTP caching test suite against one POP
of ours and Debian nginx in the same run, scored by the suite itself, into docs/conformance.md.

The suite is npm's `http-cache-tests` (a devDependency): a test origin (bench/conformance/
origin.mjs starts it bound to 127.0.0.1) and a CLI that drives a cache in front of it and prints
one JSON result per test. bench/conformance/score.mjs scores those with the suite's own
`determineTestResult()`. Raw and scored JSON go to .bench/conformance/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from rich.console import Console

from bench import conformance_report as report
from bench import tools
from procs.supervisor import Supervisor, cli_argv, free_port
from streaming.config.distribution import parse
from streaming.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "bench" / "conformance"
SUITE = ROOT / "node_modules" / "http-cache-tests"
RAW = ROOT / ".bench" / "conformance"
FLOOR = HERE / "floor.txt"
REASONS = HERE / "reasons.toml"
SUITE_TIMEOUT = 100.0  # the whole CLI run; nginx takes about 13 s, a test at most 10 s per step
NGINX = "/usr/sbin/nginx"

# Request headers the suite's tests send that a cache does not act on itself: its bookkeeping
# (Req-Num picks the origin's answer) and the headers its Vary tests vary on. Used only while
# the config cannot say "forward every viewer header".
SUITE_HEADERS = (
    "test-id", "req-num", "test-name", "foo", "bar", "baz", "abc", "other", "accept-language",
    "surrogate-capability", "content-type",
)  # fmt: skip
METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE")  # PUT: /config/<uuid>
# What the suite needs of the behavior, best first for each setting: the first value the config
# model accepts is used (and named in the doc), so a run picks up "all" and extension methods
# (the invalidation tests send M-SEARCH) once the edge has them.
CHOICES: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (
    ("forward_headers", (("every viewer header", "all"),
                         ("the suite's own headers", list(SUITE_HEADERS)))),
    ("cache_key", (("every query string in the key", {"query_strings": "all"}),
                   ("its query string `test` in the key", {"query_strings": ["test"]}))),
    ("allowed_methods", (("methods " + ", ".join([*METHODS, "M-SEARCH"]), [*METHODS, "M-SEARCH"]),
                         ("methods " + ", ".join(METHODS), list(METHODS)))),
)  # fmt: skip

NGINX_CONF = """\
{user}worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    proxy_cache_path {work}/cache levels=1:2 keys_zone=my-cache:8m max_size=1000m inactive=600m;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {origin};
            proxy_http_version 1.1;
            proxy_cache my-cache;
            proxy_cache_revalidate on;
        }}
    }}
}}
"""


class ConformanceError(RuntimeError):
    """The harness could not run or read the suite (not a cache failing a test)."""


@dataclass(frozen=True)
class Cache:
    """A started cache under test."""

    name: str
    version: str
    url: str


@dataclass(frozen=True)
class Suite:
    """Where a copy of the suite keeps its parts (paths relative to `root`): npm's 0.4.5, or a
    checkout of the repository since, which moved the engine under test-engine/."""

    root: Path
    server: str
    cli: str
    scorer: str  # the module exporting determineTestResult()
    tests: tuple[str, ...]  # the test modules the CLI runs

    @classmethod
    def at(cls, root: Path) -> Suite:
        if (root / "test-engine" / "cli.mjs").exists():
            return cls(root, "test-engine/server/server.mjs", "test-engine/cli.mjs",
                       "test-engine/lib/results.mjs", ("tests/index.mjs",))  # fmt: skip
        if (root / "cli.mjs").exists():
            return cls(root, "server/server.mjs", "cli.mjs", "lib/display.mjs",
                       ("tests/index.mjs", "tests/surrogate-control.mjs"))  # fmt: skip
        raise ConformanceError(f"no copy of the suite at {root}: run `npm ci`")

    @property
    def label(self) -> str:
        version = json.loads((self.root / "package.json").read_text()).get("version", "?")
        if self.root == SUITE.resolve():
            return f"`http-cache-tests` {version} from npm (pinned in `package-lock.json`)"
        return f"a copy of the suite at `{self.root}` (its package.json says {version})"


def node() -> str:
    """The node binary (a project dependency, as for the player)."""
    binary = shutil.which("node")
    if binary is None:
        raise ConformanceError("node is needed: apt-get install nodejs npm, then `npm ci`")
    return binary


def start_origin(sup: Supervisor, work: Path, suite: Suite) -> str:
    """The suite's test origin on a free loopback port; returns its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [node(), str(HERE / "origin.mjs"), f"--suite={suite.root}", f"--server={suite.server}",
            f"--port={port}", f"--pidfile={work / 'origin.pid'}"]  # fmt: skip
    sup.wait_healthy(sup.start("suite-origin", argv, f"{url}/index.html"), timeout=30)
    return url


def behavior(origin_url: str, edge_port: int) -> tuple[str, dict[str, Any]]:
    """The single `*` behavior: no default caching (default and min TTL 0), the methods the
    suite sends and what it needs forwarded; (what was chosen, the distribution)."""
    chosen: dict[str, Any] = {}
    labels = []
    for name, options in CHOICES:
        errors = []
        for label, value in options:
            try:
                parse(distribution(origin_url, edge_port, {**chosen, name: value}))
            except ConfigError as exc:
                errors.append(str(exc))
                continue
            chosen[name] = value
            labels.append(label)
            break
        else:
            raise ConformanceError(f"no {name} for the conformance behavior: {'; '.join(errors)}")
    return ", ".join(labels), distribution(origin_url, edge_port, chosen)


def distribution(origin_url: str, edge_port: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """One origin (the suite's), one POP, one `*` behavior."""
    return {
        "name": "conformance",
        "admin_token": "conformance-admin-token",
        "origins": [{"id": "suite", "region": "local", "url": origin_url}],
        "edges": [{"pop": "conformance", "region": "local", "port": edge_port}],
        "behaviors": [{
            "path_pattern": "*", "target": "suite",
            # No default caching (the suite's rule), for errors too: CloudFront's 10 s error
            # caching minimum is operator policy over RFC 9111, like its Default TTL.
            "ttl": {"min_ttl": 0, "default_ttl": 0, "max_ttl": 31536000, "error_ttl": 0},
            **overrides,
        }],
        # The suite checks that CDN-Cache-Control reaches the client (RFC 9213 lets a CDN keep
        # or remove it); the default removes it before viewers.
        "edge": {"forward_cdn_cache_control": True},
        "portal": {"port": free_port()},
    }  # fmt: skip


def start_ours(sup: Supervisor, work: Path, origin_url: str) -> tuple[Cache, str]:
    """One POP of ours (the real `streaming edge` process) in front of the suite's origin."""
    port = free_port()
    label, dist = behavior(origin_url, port)
    config = work / "ours.toml"
    config.write_bytes(tomli_w.dumps(dist).encode())
    argv = cli_argv("edge", "--config", str(config), "--pop", "conformance",
                    "--cache-dir", str(work / "ours-cache"))  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    sup.wait_healthy(sup.start("ours", argv, f"{url}/healthz"), timeout=60)
    return Cache("ours", _git_version(), url), label


def nginx_binary() -> str:
    """Debian's nginx, installed with apt-get (as root) when missing."""
    if not Path(NGINX).exists():
        tools._apt_install(["nginx-light"], Console())
    if not Path(NGINX).exists():
        raise ConformanceError(f"{NGINX} not found; on Debian/Ubuntu: apt-get install nginx-light")
    return NGINX


def start_nginx(sup: Supervisor, work: Path, origin_url: str) -> Cache:
    """nginx proxy_cache configured as the suite's own docker/nginx does, on loopback."""
    binary = nginx_binary()
    root = work / "nginx"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must write the cache directory
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, work=root, port=port, origin=origin_url))
    argv = [binary, "-p", str(root), "-e", str(root / "nginx-error.log"), "-c", str(conf),
            "-g", "daemon off;"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    sup.wait_healthy(sup.start("nginx", argv, f"{url}/index.html"), timeout=30)
    return Cache("nginx", _output([binary, "-v"]).removeprefix("nginx version: "), url)


def run_suite(suite: Suite, base: str, out: Path, timeout: float = SUITE_TIMEOUT) -> dict[str, Any]:
    """The suite's CLI against `base` (full run); its JSON results, also written to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # cli.mjs reads its options the way `npm run cli --base=...` passes them.
    env = {"npm_config_base": base, "npm_config_id": "", "npm_package_config_id": ""}
    with out.open("wb") as stdout:
        try:
            done = subprocess.run(
                [node(), "--no-warnings", suite.cli], cwd=suite.root, env=env, stdout=stdout,
                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ConformanceError(f"the suite did not finish within {timeout:.0f}s") from None
    try:
        results = json.loads(out.read_text())
    except json.JSONDecodeError:
        results = None
    if done.returncode != 0 or not isinstance(results, dict) or not results:
        # An exception inside a test's own error handler leaves its promise unsettled: node then
        # exits 0 without printing any results.
        tail = done.stderr.decode(errors="replace").strip()[-500:] or "no output"
        raise ConformanceError(f"the suite's CLI failed (exit {done.returncode}): {tail}")
    return results


def score(suite: Suite, raw: dict[str, Path], published: bool) -> report.Scored:
    """Each run's results (and the suite's stored ones) scored by the suite's own rules."""
    argv = [node(), str(HERE / "score.mjs"), f"--suite={suite.root}", f"--scorer={suite.scorer}",
            f"--tests={','.join(suite.tests)}", *(["--published"] * published)]  # fmt: skip
    argv += [f"{name}={path}" for name, path in raw.items()]
    done = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise ConformanceError(f"score.mjs failed: {done.stderr.decode(errors='replace')[-500:]}")
    return report.parse_scored(json.loads(done.stdout))


def floor() -> int:
    """The committed floor of required passes for our edge."""
    return int(FLOOR.read_text().split()[0])


def _output(argv: list[str]) -> str:
    """The first line a tool prints about itself ("?" when it cannot say)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0] if done.returncode == 0 and lines else "?"


def _git_version() -> str:
    """The commit our edge ran from, and whether tracked files differed from it."""
    commit = _output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    try:
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "diff", "--quiet", "HEAD"], capture_output=True, timeout=10
        ).returncode  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        dirty = 0
    return f"{commit} + uncommitted changes" if dirty == 1 else commit


def _machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "?",
    )  # fmt: skip
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores"


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.conformance", description=__doc__)
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "conformance.md")
    p.add_argument("--no-doc", action="store_true", help="print only; leave docs/conformance.md")
    p.add_argument("--no-nginx", action="store_true", help="our edge only")
    p.add_argument("--suite", type=Path, default=SUITE, help="another copy of the suite")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, configs)")
    return p.parse_args()


def measure(suite: Suite, work: Path, with_nginx: bool) -> tuple[list[Cache], str, dict[str, Path]]:
    """Start the origin and the caches, run the suite against each one after the other (the
    machine has two cores); (caches, what our behavior forwards, raw result files)."""
    RAW.mkdir(parents=True, exist_ok=True)
    caches, raw = [], {}
    with Supervisor(work / "logs") as sup:
        origin = start_origin(sup, work, suite)
        ours, label = start_ours(sup, work, origin)
        caches.append(ours)
        if with_nginx:
            caches.append(start_nginx(sup, work, origin))
        for cache in caches:
            print(f"running the suite against {cache.name} ({cache.url}) ...", flush=True)
            started = time.monotonic()
            raw[cache.name] = RAW / f"{cache.name}.json"
            results = run_suite(suite, cache.url, raw[cache.name])
            print(f"  {len(results)} results in {time.monotonic() - started:.0f} s", flush=True)
    return caches, label, raw


def _about(suite: Suite, ours: Cache, label: str, seconds: float) -> dict[str, str]:
    lag = (
        ". It lags the suite's repository (more tests, newer published results); issue 13's "
        "counts (of 160 required tests) and its goal are on the repository's version, which "
        "`--suite DIR` runs from a checkout."
    )
    return {
        "suite": suite.label + (lag if suite.root == SUITE.resolve() else ""),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": _machine(),
        "command": f"`make conformance` (`.venv/bin/python -m bench.conformance`), {seconds:.0f} s",
        "node": _output([node(), "--version"]),
        "ours": f"one POP (`streaming edge`, commit {ours.version}), one `*` behavior, "
        f"default and min TTL 0; {label}",
        "nginx": "Debian's, `proxy_cache` + `proxy_cache_revalidate on` + "
        "`proxy_http_version 1.1` (the suite's docker/nginx config), on loopback",
        "floor": f"`bench/conformance/floor.txt` = {floor()} required passes "
        "(tests/bench/test_conformance.py fails below it)",
    }


def main() -> None:
    args = _args()
    suite = Suite.at(args.suite.resolve())
    work = Path(tempfile.mkdtemp(prefix="conformance-"))
    started = time.monotonic()
    try:
        caches, label, raw = measure(suite, work, not args.no_nginx)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    scored = score(suite, raw, published=True)
    (RAW / "scored.json").write_text(json.dumps(
        {name: {i: vars(o) for i, o in run.items()} for name, run in scored.runs.items()}, indent=2
    ))  # fmt: skip
    columns = [report.Column(c.name, c.version, scored.runs[c.name], True) for c in caches]
    published = {c.name: c for c in scored.published}
    columns += [published[n] for n in report.PUBLISHED if n in published]
    for c in columns[: len(caches)]:
        n = report.counts(scored.tests, c.results)
        print(f"{c.name}: required {n.required_pass}/{n.required}, "
              f"optimal {n.optimal_pass}/{n.optimal}")  # fmt: skip
    reasons = report.load_reasons(REASONS)
    if fixed := sorted(t for t in reasons if report.passed(scored.runs["ours"], t)):
        print(f"bench/conformance/reasons.toml explains tests that now pass: {', '.join(fixed)}")
    about = _about(suite, caches[0], label, time.monotonic() - started)
    markdown = report.render(scored, columns, "ours", reasons, about)
    if not args.no_doc:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(markdown)
        print(f"wrote {args.doc}")
    print(f"raw results: {RAW}")


if __name__ == "__main__":
    main()
