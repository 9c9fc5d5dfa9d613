"""Scenario files: shipped ones load, bad ones fail at start naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.scenario import SCENARIOS, load, parse
from streaming.errors import ConfigError

SHIPPED = (
    "primary-dies",
    "primary-flaps",
    "slow-primary",
    "edge-dies",
    "shield-dies",
    "primary-dies-live",
)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load_by_name(name: str) -> None:
    """Every shipped scenario parses, has faults, and ends its timeline before its duration."""
    scenario = load(name)
    assert scenario.name == name and scenario.faults
    assert max(f.at for f in scenario.faults) < scenario.duration


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (
            {"faults": [{"at": 1, "action": "kill", "target": "origin:mars"}]},
            "no origin in region 'mars'",
        ),
        ({"faults": [{"at": 99, "action": "kill", "target": "origin:us-east"}]}, "after the end"),
        (
            {"faults": [{"at": 1, "action": "delay", "target": "edge:iad", "value": 1}]},
            "origin:<region> only",
        ),
        ({"faults": [{"at": 1, "action": "delay", "target": "origin:us-east"}]}, "positive value"),
        ({"faults": [{"at": 1, "action": "kill", "target": "shield"}]}, "no shield"),
        ({"viewers": {"count": 0}}, "viewers.count"),
        ({"viewers": {"steering": True}}, "topology.steering"),
    ],
)
def test_bad_scenarios_fail_with_the_field(doc: dict[str, object], field: str) -> None:
    """A wrong target, time, value or bound is refused with a message naming it."""
    with pytest.raises(ConfigError, match=field):
        parse({"name": "x", "duration": 30, **doc})


def test_unknown_scenario_lists_the_shipped_ones(tmp_path: Path) -> None:
    """A missing file names the shipped scenarios so the user can pick one."""
    with pytest.raises(ConfigError, match="primary-dies"):
        load(tmp_path / "nope.toml")
    assert {p.stem for p in SCENARIOS.glob("*.toml")} >= set(SHIPPED)
