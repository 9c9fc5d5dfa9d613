"""The demo's copy-paste lines: one per use, each naming things that exist."""

from __future__ import annotations

import shlex
from pathlib import Path

from cli.demo import try_it
from experiments.scenario import load


def test_one_line_per_use_each_runnable() -> None:
    """Player, load test on the state file, a shipped failover scenario that loads."""
    state = {"player_url": "http://127.0.0.1:8300/player"}
    lines = dict(try_it(state, Path(".demo/state.json")))
    assert list(lines) == ["open the player:", "run a load test:", "run a failover test:"]
    assert shlex.split(lines["open the player:"])[-1] == state["player_url"]
    assert shlex.split(lines["run a load test:"])[:4] == [
        "streaming", "loadtest", "--demo", ".demo/state.json",
    ]  # fmt: skip
    experiment = shlex.split(lines["run a failover test:"])
    assert experiment[:2] == ["streaming", "experiment"] and load(experiment[2])
