"""The import graph and the "only X does Y" rules of STYLE.md, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Who may import whom (besides itself and third-party libraries). Every package has a line, the
# composition root and the benchmarks too: no package is exempt.
ALLOWED = {
    "streaming": set(),  # the leaf: see test_streaming_imports_no_other_project_package
    "procs": {"streaming"},  # the supervisor of child processes, for the CLI, tests and bench
    "media": {"streaming"},
    "origin": {"streaming", "media"},
    "edge": {"streaming"},
    "portal": {"streaming"},
    "loadtest": {"streaming"},  # a client of the edges: never the servers' internals
    "steering": {"streaming"},  # watches POPs over HTTP, never imports the edge
    "control": {"streaming"},  # invalidations reach edges over HTTP, never by import
    "experiments": {"streaming", "media", "procs"},  # the runner makes a clip, starts processes
    # The composition root wires every server package into processes; nothing imports it.
    "cli": {
        "streaming", "procs", "media", "origin", "edge", "portal", "loadtest", "steering",
        "control", "experiments",
    },  # fmt: skip
    # The benchmarks start servers through procs; the packaging one builds its config with
    # the test factories.
    "bench": {"streaming", "procs", "media", "loadtest", "tests"},
}
PACKAGES = tuple(ALLOWED)
# Every top-level package of the repository, found on disk so a new one cannot slip past.
PROJECT = frozenset(p.parent.name for p in ROOT.glob("*/__init__.py"))
SPAWNERS = {
    "media/runner.py",
    "procs/supervisor.py",
    "procs/workers.py",  # streaming edge --workers: forks the POP's worker processes
    "loadtest/run.py",  # --workers: multiprocessing workers that each run a share of the viewers
    "bench/__main__.py",  # asks each benchmarked tool for its version
    "bench/conformance.py",  # runs the npm HTTP caching test suite with node
    "bench/packaging.py",  # times the bare ffmpeg command against our packager
    "bench/tools.py",  # installs nginx, wrk and Varnish with apt-get when missing
    "bench/wrk.py",  # runs wrk, the load generator
}
ENVIRONMENT_READERS = {
    "bench/tools.py",  # apt-get runs with the caller's environment plus DEBIAN_FRONTEND
    # sets (never reads) PROMETHEUS_MULTIPROC_DIR: prometheus_client's multiprocess mode takes
    # its directory from there, for a POP of several worker processes
    "edge/metrics.py",
}


def sources(packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imported_modules(path: Path, tree: ast.AST) -> set[str]:
    """Every module `path` imports by name: relative imports resolved, lazy ones and
    `importlib.import_module("...")` included."""
    package = rel(path).split("/")[:-1]  # where a relative import of this file starts
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: max(len(package) - node.level + 1, 0)] if node.level else []
            if node.module:
                found.add(".".join([*base, node.module]))
            else:  # `from .. import x`: the names are modules
                found |= {".".join([*base, alias.name]) for alias in node.names}
        elif isinstance(node, ast.Call) and _called(node) == "import_module":
            found |= {a.value for a in node.args[:1] if isinstance(a, ast.Constant)}
    return found


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def imported_packages(path: Path, tree: ast.AST) -> set[str]:
    """The project packages among what `path` imports."""
    return {m.split(".")[0] for m in imported_modules(path, tree)} & (PROJECT | set(PACKAGES))


def test_every_package_has_an_import_rule() -> None:
    """A new top-level package gets a line in ALLOWED instead of escaping the graph check."""
    assert not PROJECT - {"tests"} - set(ALLOWED), "no import rule for a package on disk"
    assert not set(ALLOWED) - PROJECT, "an import rule for a package that is gone"


@pytest.mark.parametrize("path", sources(), ids=rel)
def test_dependencies_point_one_way(path: Path) -> None:
    """streaming is a leaf, media builds on it, origin on both, and edge never sees origin/media."""
    name = rel(path)
    package = name.split("/")[0]
    imported = imported_packages(path, ast.parse(path.read_text()))
    forbidden = imported - ALLOWED[package] - {package}
    assert not forbidden, f"{name} imports {sorted(forbidden)}"


@pytest.mark.parametrize("path", sources(("streaming",)), ids=rel)
def test_streaming_imports_no_other_project_package(path: Path) -> None:
    """The shared vocabulary sits below everything: no module under streaming/ imports any other
    package of this repository (servers, CLI, procs, experiments, bench, tests), not even lazily."""
    imported = imported_packages(path, ast.parse(path.read_text())) - {"streaming"}
    assert not imported, f"{rel(path)} imports {sorted(imported)}"


@pytest.mark.parametrize("path", sources(), ids=rel)
def test_only_named_modules_spawn_processes(path: Path) -> None:
    """Only the ffmpeg runner, the process supervisor, loadtest's workers and the benchmark
    tools start processes."""
    name = rel(path)
    if name in SPAWNERS:
        return
    tree = ast.parse(path.read_text())
    modules = imported_modules(path, tree)
    uses_subprocess = "subprocess" in modules
    spawns = any(
        isinstance(n, ast.Attribute)
        and n.attr in {"create_subprocess_exec", "create_subprocess_shell", "fork"}
        for n in ast.walk(tree)
    )
    assert not uses_subprocess and not spawns, f"{name} spawns processes"


@pytest.mark.parametrize("path", sources(), ids=rel)
def test_only_named_modules_read_the_environment(path: Path) -> None:
    """Configuration comes from the distribution file (and the CLI's options), not os.environ."""
    name = rel(path)
    if name in ENVIRONMENT_READERS:
        return
    text = path.read_text()
    assert "os.environ" not in text and "getenv(" not in text, f"{name} reads the environment"
