"""The import graph and the "only X does Y" rules of STYLE.md, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "streaming",
    "media",
    "origin",
    "edge",
    "portal",
    "experiments",
    "loadtest",
    "steering",
    "control",
)

# Who may import whom (besides itself and third-party libraries).
ALLOWED = {
    "streaming": set(),
    "media": {"streaming"},
    "origin": {"streaming", "media"},
    "edge": {"streaming"},
    "portal": {"streaming"},
    "experiments": {"streaming"},
    "loadtest": {"streaming"},  # a client of the edges: never the servers' internals
    "steering": {"streaming"},  # watches POPs over HTTP, never imports the edge
    "control": {"streaming"},  # invalidations reach edges over HTTP, never by import
}
COMPOSITION_ROOT = "streaming/cli/"  # the CLI wires processes and may import any package
SPAWNERS = {
    "media/runner.py",
    "streaming/cli/supervisor.py",
    "loadtest/run.py",  # --workers: multiprocessing workers that each run a share of the viewers
}


def sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imported_packages(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("path", sources(), ids=rel)
def test_dependencies_point_one_way(path: Path) -> None:
    """streaming is a leaf, media builds on it, origin on both, and edge never sees origin/media."""
    name = rel(path)
    if name.startswith(COMPOSITION_ROOT):
        return
    package = name.split("/")[0]
    imported = imported_packages(ast.parse(path.read_text()))
    forbidden = imported - ALLOWED[package] - {package}
    assert not forbidden, f"{name} imports {sorted(forbidden)}"


@pytest.mark.parametrize("path", sources(), ids=rel)
def test_only_named_modules_spawn_processes(path: Path) -> None:
    """Only the ffmpeg runner and the process supervisor start processes."""
    name = rel(path)
    if name in SPAWNERS:
        return
    tree = ast.parse(path.read_text())
    modules = imported_packages(tree) | {
        n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    uses_subprocess = (
        "subprocess"
        in {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        or "subprocess" in modules
    )
    spawns = any(
        isinstance(n, ast.Attribute)
        and n.attr in {"create_subprocess_exec", "create_subprocess_shell"}
        for n in ast.walk(tree)
    )
    assert not uses_subprocess and not spawns, f"{name} spawns processes"


@pytest.mark.parametrize("path", sources(), ids=rel)
def test_only_entry_points_read_the_environment(path: Path) -> None:
    """Configuration comes from the distribution file; only the CLI reads os.environ."""
    name = rel(path)
    if name.startswith(COMPOSITION_ROOT):
        return
    text = path.read_text()
    assert "os.environ" not in text and "getenv(" not in text, f"{name} reads the environment"
