"""The demo's "try it" lines: one copy-paste line per use, spelled for a fresh shell.

`make demo` installs `streaming` into `.venv` and runs `.venv/bin/streaming demo`: a new shell
has no `streaming` on its PATH, so the lines name the script this process runs from instead,
unless PATH already finds that very script outside a virtualenv (a system-wide install).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

VENV_SCRIPT = Path(".venv") / "bin" / "streaming"  # where `make demo` installs it


def spelling(script: Path, cwd: Path, on_path: str | None, in_venv: bool) -> str:
    """How a fresh shell in `cwd` runs `script`: `streaming` when PATH finds it there and no
    virtualenv has to be activated for that, else `.venv/bin/streaming` (the Makefile's venv),
    a path below `cwd`, or the absolute path."""
    if not script.is_file():  # no console script (run as `python -m cli`): this interpreter's
        return f"{shlex.quote(sys.executable)} -m cli"
    if on_path is not None and not in_venv and _same(Path(on_path), script):
        return "streaming"
    if _same(cwd / VENV_SCRIPT, script):
        return str(VENV_SCRIPT)
    relative = Path(os.path.relpath(script, cwd))
    if not relative.parts or relative.parts[0] != "..":
        return shlex.quote(str(relative))
    return shlex.quote(str(script))


def streaming_command() -> str:
    """The spelling of this process's own `streaming` for a fresh shell in this directory."""
    script = Path(sys.executable).parent / "streaming"
    # A virtualenv's bin is on PATH only while activated: a new shell does not have it.
    in_venv = sys.prefix != sys.base_prefix
    return spelling(script, Path.cwd(), shutil.which("streaming"), in_venv)


def try_it(state: Mapping[str, Any], state_path: Path, streaming: str) -> list[tuple[str, str]]:
    """One line per use of the demo, each working as printed while the demo runs: the player's
    URL (for a browser; it trusts the demo's CA as printed above it), a short load test of the
    edges and a failover experiment, both through `streaming` spelled as given."""
    state_file = shlex.quote(str(state_path))
    return [
        ("open the player:", str(state["player_url"])),
        # --demo signs the viewers' cookies with the demo's key when the content is private.
        (
            "run a load test:",
            f"{streaming} loadtest --demo {state_file} --viewers 50 --duration 10",
        ),
        # Its own topology on free ports: the running demo is left alone.
        ("run a failover test:", f"{streaming} experiment primary-dies"),
    ]


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False
