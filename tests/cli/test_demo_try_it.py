"""The demo's copy-paste lines: one per use, each naming things that exist, spelled so a fresh
shell runs them (tests/docs/test_demo_commands.py runs the printed lines against a real demo)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from cli.try_it import spelling, try_it
from experiments.scenario import load


def test_one_line_per_use_each_runnable() -> None:
    """Player URL, load test on the state file, a shipped failover scenario that loads."""
    state = {"player_url": "https://127.0.0.1:8340/player"}
    lines = dict(try_it(state, Path(".demo/state.json"), ".venv/bin/streaming"))
    assert list(lines) == ["open the player:", "run a load test:", "run a failover test:"]
    assert lines["open the player:"] == state["player_url"]  # no opener that may be missing
    assert shlex.split(lines["run a load test:"])[:4] == [
        ".venv/bin/streaming", "loadtest", "--demo", ".demo/state.json",
    ]  # fmt: skip
    experiment = shlex.split(lines["run a failover test:"])
    assert experiment[:2] == [".venv/bin/streaming", "experiment"] and load(experiment[2])


def fake_script(directory: Path) -> Path:
    directory.mkdir(parents=True)
    script = directory / "streaming"
    script.write_text("#!/bin/sh\n")
    return script


def test_a_virtualenv_script_is_spelled_by_its_path_even_when_on_path(tmp_path: Path) -> None:
    """`make demo`'s venv: `.venv/bin/streaming` from the checkout (a new shell has no activated
    venv, whatever this process's PATH holds), the absolute path from elsewhere."""
    script = fake_script(tmp_path / ".venv" / "bin")
    assert spelling(script, tmp_path, str(script), in_venv=True) == ".venv/bin/streaming"
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    assert spelling(script, elsewhere, str(script), in_venv=True) == str(script)


def test_a_linked_checkout_venv_is_spelled_relative(tmp_path: Path) -> None:
    """A `.venv` symlink in the directory (as the docs tests lay one out) is the same script."""
    script = fake_script(tmp_path / "venvs" / "real" / "bin")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / ".venv").symlink_to(tmp_path / "venvs" / "real")
    assert spelling(script, tmp_path / "work", None, in_venv=True) == ".venv/bin/streaming"


def test_a_system_install_on_path_is_spelled_streaming(tmp_path: Path) -> None:
    """Outside a virtualenv, the name alone when PATH finds this very script; not another one."""
    script = fake_script(tmp_path / "usr" / "bin")
    other = fake_script(tmp_path / "opt" / "bin")
    assert spelling(script, tmp_path, str(script), in_venv=False) == "streaming"
    assert spelling(script, tmp_path, str(other), in_venv=False) == "usr/bin/streaming"


def test_without_a_console_script_the_interpreter_runs_the_cli(tmp_path: Path) -> None:
    assert spelling(tmp_path / "missing", tmp_path, None, in_venv=True) == (
        f"{shlex.quote(sys.executable)} -m cli"
    )
