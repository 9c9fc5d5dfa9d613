"""The SCENARIO.toml model: a topology, a viewer load and a timeline of faults, all bounded.

    name = "primary-dies"
    duration = 30                       # seconds of viewer load
    [viewers]   count = 20  mode = "realtime"
    [topology]  regions = ["us-east", "eu-west"]  pops = [["iad", "us-east"], ["fra", "eu-west"]]
    [[faults]]  at = 8   action = "kill"     target = "origin:us-east"
    [[faults]]  at = 18  action = "restore"  target = "origin:us-east"

Parsed once into frozen models; a bad file raises ConfigError naming the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from streaming.config import Identifier, first_error
from streaming.errors import ConfigError

SCENARIOS = Path(__file__).parent / "scenarios"

# Process faults act on a supervised process, network faults on the fault proxy of an origin.
PROCESS_ACTIONS = frozenset({"kill", "pause", "resume", "restore"})
NETWORK_ACTIONS = frozenset({"delay", "refuse", "drop", "truncate", "pause-network", "heal"})
Action = Literal[
    "kill",
    "pause",
    "resume",
    "restore",
    "delay",
    "refuse",
    "drop",
    "truncate",
    "pause-network",
    "heal",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Fault(_Model):
    """One timeline entry: at `at` seconds after the load starts, apply `action` to `target`."""

    at: Annotated[float, Field(ge=0)]
    action: Action
    # origin:<region> | edge:<pop> | shield for process faults; origin:<region> for network ones
    target: Annotated[str, Field(pattern=r"^(origin:[a-z0-9_-]+|edge:[a-z0-9_-]+|shield)$")]
    value: Annotated[float, Field(ge=0)] = 0  # delay seconds, truncate bytes

    @model_validator(mode="after")
    def _fits(self) -> Fault:
        if self.action in NETWORK_ACTIONS and not self.target.startswith("origin:"):
            raise ValueError(f"{self.action}: network faults apply to origin:<region> only")
        if self.action in {"delay", "truncate"} and self.value <= 0:
            raise ValueError(f"{self.action}: needs a positive value (seconds or bytes)")
        return self

    @property
    def kind(self) -> str:
        return self.target.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.target.split(":", 1)[-1]


class Viewers(_Model):
    """The emulated audience: bounded in count, requests and per-request time."""

    count: Annotated[int, Field(ge=1, le=500)] = 20
    mode: Literal["realtime", "stress"] = "realtime"
    content: Literal["vod", "live"] = "vod"
    ramp: Annotated[float, Field(ge=0, le=60)] = 5.0  # seconds over which viewers join
    max_requests: Annotated[int, Field(ge=1, le=1_000_000)] = 50_000
    request_timeout: Annotated[float, Field(gt=0, le=60)] = 6.0
    retries: Annotated[int, Field(ge=0, le=10)] = 3  # per object, like a player's retry policy
    buffer_segments: Annotated[int, Field(ge=1, le=10)] = 3
    # Edges a viewer may use, most preferred first; empty = every POP, spread across viewers.
    pops: tuple[Identifier, ...] = ()
    steering: bool = False  # ask the steering service for an edge (and again after errors)


class Topology(_Model):
    """What `streaming experiment` starts when it does not use a running demo."""

    regions: Annotated[tuple[Identifier, ...], Field(min_length=1, max_length=6)] = (
        "us-east",
        "eu-west",
    )
    pops: Annotated[
        tuple[tuple[Identifier, Identifier], ...], Field(min_length=1, max_length=8)
    ] = (
        ("iad", "us-east"),
        ("fra", "eu-west"),
    )
    shield: Identifier | None = None  # region of an Origin Shield POP, None for no shield
    steering: bool = False
    proxies: bool = True  # reach every origin through a fault proxy
    # Short segments and a clip longer than the ramp spread viewers over many objects.
    segment_duration: Annotated[float, Field(gt=0.5, le=10)] = 1.0
    clip_seconds: Annotated[float, Field(gt=1, le=120)] = 20.0
    # Short edge TTLs keep fills flowing so the origins are exercised all along the run.
    cache_ttl: Annotated[float, Field(gt=0, le=86400)] = 1.0
    group: dict[str, object] = {}  # overrides for the origin group (timeouts, attempts, health)

    @model_validator(mode="after")
    def _regions(self) -> Topology:
        for pop, region in self.pops:
            if not region:
                raise ValueError(f"pops: {pop} needs a region")
        if self.shield is not None and self.shield not in self.regions:
            raise ValueError(f"shield: region {self.shield!r} has no origin")
        return self


class Scenario(_Model):
    name: Identifier
    description: str = ""
    duration: Annotated[float, Field(gt=0, le=600)] = 30.0
    viewers: Viewers = Viewers()
    topology: Topology = Topology()
    faults: tuple[Fault, ...] = ()

    @model_validator(mode="after")
    def _timeline(self) -> Scenario:
        regions = set(self.topology.regions)
        pops = {p for p, _ in self.topology.pops}
        for i, fault in enumerate(self.faults):
            if fault.at > self.duration:
                raise ValueError(f"faults.{i}.at: {fault.at}s is after the end ({self.duration}s)")
            if fault.kind == "origin" and fault.name not in regions:
                raise ValueError(f"faults.{i}.target: no origin in region {fault.name!r}")
            if fault.kind == "edge" and fault.name not in pops:
                raise ValueError(f"faults.{i}.target: no edge POP {fault.name!r}")
            if fault.kind == "shield" and self.topology.shield is None:
                raise ValueError(f"faults.{i}.target: the topology has no shield")
            if fault.action in NETWORK_ACTIONS and not self.topology.proxies:
                raise ValueError(f"faults.{i}.action: {fault.action} needs topology.proxies = true")
        for pop in self.viewers.pops:
            if pop not in pops:
                raise ValueError(f"viewers.pops: unknown POP {pop!r}")
        if self.viewers.steering and not self.topology.steering:
            raise ValueError("viewers.steering: needs topology.steering = true")
        return self


def parse(data: dict[str, object]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(first_error(exc, "scenario")) from None


def load(path: str | Path) -> Scenario:
    """Read a scenario file; a bare name like `primary-dies` means a shipped scenario."""
    file = Path(path)
    if not file.exists() and (SCENARIOS / f"{path}.toml").exists():
        file = SCENARIOS / f"{path}.toml"
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        shipped = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.toml")))
        raise ConfigError(f"scenario not found: {file} (shipped: {shipped})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse(data)
