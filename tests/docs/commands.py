"""Documented commands as a user's shell runs them, in a directory laid out like the repository.

The demo tests start `streaming demo` in a temporary directory holding `config/demo.toml` (a
generated distribution on free ports) and `.demo/` (its state, keys, data), so the docs' relative
paths work as written, and `.venv` (linked to this virtualenv) where `make demo` leaves it. The
shell is a new user's: no virtualenv on PATH, so documented commands run after the README's
activation line and the demo's printed lines as printed. What cannot be written literally is
substituted from one table here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import IO

BIN = Path(sys.executable).parent  # the venv's bin: `streaming`, `activate`
ROOT = Path(__file__).resolve().parents[2]
# The README's line that puts `make demo`'s `streaming` on a new shell's PATH: every documented
# command runs after it (`activated`), in a shell that has no virtualenv otherwise.
ACTIVATE = ". .venv/bin/activate"

# Placeholders in documented commands → the name of the value the demo fixture fills in.
# config/demo.toml's fixed ports become this topology's: viewers' HTTPS (the state's `url`),
# plain HTTP (`http_url`, where the demo redirects to HTTPS) and the portal's pair.
PLACEHOLDERS = {
    "<id>": "video_id",  # the video the demo published
    "https://127.0.0.1:8441": "iad_url",
    "https://127.0.0.1:8442": "fra_url",
    "http://127.0.0.1:8201": "iad_http_url",
    "http://127.0.0.1:8202": "fra_http_url",
    "https://127.0.0.1:8340": "portal_url",
    "http://127.0.0.1:8300": "portal_http_url",
}
# Every port config/demo.toml fixes: one still in a command after the substitutions is a
# placeholder missing above (nothing of the test's demo listens there).
DEMO_PORTS = frozenset(
    re.findall(r"(?:port = |127\.0\.0\.1:)(\d+)", (ROOT / "config" / "demo.toml").read_text())
)
ADDRESS = re.compile(r"(?:127\.0\.0\.1|localhost):(\d+)")

# Synopses with placeholders for whole arguments and optional parts in brackets: how each runs.
SYNOPSES = {
    "streaming demo [--config FILE] [--media FILE] [--state FILE] [--plain-http]":
        "streaming demo --config config/demo.toml --media {clip} --state .demo/state.json",
    "streaming upload FILE --origin URL [--token T] [--wait]":
        "streaming upload {clip} --origin {us_east_url} --token {admin_token} --wait",
    "streaming origin --config FILE --region NAME [--host H] [--port P] [--data DIR]":
        "streaming origin --config config/demo.toml --region eu-west --host 127.0.0.1"
        " --port {free_port} --data extra/origin",
    "streaming portal --config config/demo.toml [--state .demo/state.json]":
        "streaming portal --config config/demo.toml --state .demo/state.json",
    "streaming invalidate PATH... --config FILE":
        "streaming invalidate /hls/{video_id}/master.m3u8 /hls/{video_id}/poster.jpg"
        " --config config/demo.toml",
    # Its own config: the demo's fra holds the https_port config/demo.toml gives fra.
    "streaming edge --config FILE --pop NAME [--host H] [--port P] [--cache-dir DIR]":
        "streaming edge --config extra/edge.toml --pop fra --host 127.0.0.1"
        " --port {free_port} --cache-dir extra/edge",
}  # fmt: skip


def as_run(command: str, values: Mapping[str, str]) -> str:
    """The documented `command` with its placeholders replaced by this topology's values."""
    text = SYNOPSES[command].format_map(values) if command in SYNOPSES else command
    for placeholder, name in PLACEHOLDERS.items():
        if placeholder in text:
            text = text.replace(placeholder, values[name])
    if unmapped := sorted(set(ADDRESS.findall(text)) & DEMO_PORTS):
        raise AssertionError(f"{command}: no substitution for the demo's ports {unmapped}")
    return text


def shell_env() -> dict[str, str]:
    """A user's fresh shell: no virtualenv active (the venv's bin off PATH, so `streaming` is
    found only after the README's `ACTIVATE` line or spelled `.venv/bin/streaming`), wide
    unstyled output (rich tables stay on one line)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT")}
    path = os.environ.get("PATH", "").split(os.pathsep)
    kept = [entry for entry in path if not _same_dir(entry, BIN)]
    return {**env, "PATH": os.pathsep.join(kept), "COLUMNS": "220", "NO_COLOR": "1", "TERM": "dumb"}


def _same_dir(entry: str, directory: Path) -> bool:
    try:
        return bool(entry) and Path(entry).samefile(directory)
    except OSError:
        return False


def link_venv(root: Path) -> None:
    """`root/.venv`: this interpreter's virtualenv, where `make demo` leaves it in a checkout
    (`ACTIVATE` and `.venv/bin/streaming` work in `root` as in the repository)."""
    assert sys.prefix != sys.base_prefix and (BIN / "activate").is_file(), (
        f"the docs tests run in the project's virtualenv (make test), not {sys.prefix}"
    )
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)


def activated(line: str) -> str:
    """`line` as a user types it after the README's activation line, in the same shell."""
    return f"{ACTIVATE} && {line}"


@dataclass(frozen=True)
class Ran:
    command: str
    status: int
    output: str

    def __str__(self) -> str:
        return f"$ {self.command}\n(exit {self.status})\n{self.output[-4000:]}"


def spawn(command: str, cwd: Path, out: IO[str] | int = subprocess.PIPE) -> Popen[str]:
    """Start `command` with bash in `cwd` (globs and quotes as a user types them), in a process
    group of its own; the caller kills it with `kill_group`."""
    return subprocess.Popen(
        ["bash", "-c", command], cwd=cwd, env=shell_env(), stdout=out,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip


def shell(command: str, cwd: Path, timeout: float) -> Ran:
    """Run `command` to its end; its process group is always killed, also on timeout."""
    process = spawn(command, cwd)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        output, _ = process.communicate()
        output += f"\n[killed after {timeout:.0f}s]"
    finally:
        kill_group(process)
    return Ran(command, process.returncode, output)


def kill_group(process: Popen[str]) -> None:
    """SIGKILL the process group this test created for `process` (left-over members too)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def processes_in(directory: Path) -> list[int]:
    """PIDs running with their working directory inside `directory` (a test's temporary one):
    processes this module started, also those that left its process groups (supervised
    children start sessions of their own)."""
    found = []
    inside = str(directory.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cwd = os.readlink(entry / "cwd")
            if cwd == inside or cwd.startswith(inside + os.sep):
                found.append(int(entry.name))
    return found


def reap_in(directory: Path) -> None:
    """SIGKILL every process `processes_in(directory)` finds."""
    for pid in processes_in(directory):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
