"""Player telemetry: beacons from the browser player, kept as Prometheus metrics.

A beacon is one playback session's batch of events with CMCD-style keys (CTA-5004 names where
one exists: `sid` session id, `cid` content id, `st` stream type `v`/`l`, `br` encoded bitrate
in kbit/s, `bl` buffer length in ms, `mtp` measured throughput in kbit/s). Label values are
bounded by validation (known POPs, fixed event and error vocabularies), so a client cannot blow
up the series count. Each event is also logged as one JSON line with the session id and the edge
request id of the segment in flight, so a stall can be matched to the edge's access log.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal

from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streaming.config import first_error
from streaming.errors import BadRequest

log = logging.getLogger("portal.telemetry")

MAX_BEACON_BYTES = 64 * 1024
ErrorType = Literal[
    "networkError", "mediaError", "muxError", "keySystemError", "otherError", "accessDenied"
]
Token = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Startup(_Strict):
    ev: Literal["startup"]
    ms: Annotated[float, Field(ge=0, le=600_000)]


class Rebuffer(_Strict):
    ev: Literal["rebuffer"]
    ms: Annotated[float, Field(ge=0, le=3_600_000)]
    rid: Token | None = None  # X-Request-Id of the segment that was loading when the stall began


class Switch(_Strict):
    ev: Literal["switch"]
    br: Annotated[int, Field(ge=0, le=1_000_000)]
    from_br: Annotated[int, Field(ge=0, le=1_000_000)]


class Error(_Strict):
    ev: Literal["error"]
    type: ErrorType
    details: Token
    fatal: bool
    code: Annotated[int, Field(ge=0, le=999)] = 0


class Sample(_Strict):
    """A periodic heartbeat with the player's view of the network and its buffer."""

    ev: Literal["sample"]
    bl: Annotated[int, Field(ge=0, le=3_600_000)]
    br: Annotated[int, Field(ge=0, le=1_000_000)]
    mtp: Annotated[int, Field(ge=0, le=100_000_000)]


Event = Annotated[Startup | Rebuffer | Switch | Error | Sample, Field(discriminator="ev")]


class Beacon(_Strict):
    sid: Token
    cid: Token
    st: Literal["v", "l"]
    pop: Token
    events: Annotated[tuple[Event, ...], Field(min_length=1, max_length=200)]


def parse_beacon(body: bytes) -> Beacon:
    """Decode and validate a beacon, turning any problem into one 400 reason."""
    if len(body) > MAX_BEACON_BYTES:
        raise BadRequest(f"beacon larger than {MAX_BEACON_BYTES} bytes")
    try:
        return Beacon.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest(f"invalid beacon: {first_error(exc, 'beacon')}") from None


class PlayerMetrics:
    """The collector's Prometheus series, in a registry of their own."""

    def __init__(self, pops: tuple[str, ...]) -> None:
        self.pops = frozenset(pops)
        self.registry = CollectorRegistry()
        labels = ("pop", "stream")
        self.sessions = Counter(
            "player_sessions", "Playback sessions that started", labels, registry=self.registry
        )
        self.startup = Histogram(
            "player_startup_seconds", "Time from load to first frame", labels,
            buckets=(0.25, 0.5, 1, 2, 3, 5, 8, 13, 20), registry=self.registry,
        )  # fmt: skip
        self.rebuffers = Counter(
            "player_rebuffers", "Stalls after playback started", labels, registry=self.registry
        )
        self.rebuffer_seconds = Counter(
            "player_rebuffer_seconds", "Time spent stalled", labels, registry=self.registry
        )
        self.switches = Counter(
            "player_bitrate_switches", "Rendition changes", (*labels, "direction"),
            registry=self.registry,
        )  # fmt: skip
        self.errors = Counter(
            "player_errors", "hls.js errors reported by players", (*labels, "type", "fatal"),
            registry=self.registry,
        )  # fmt: skip
        self.throughput = Histogram(
            "player_throughput_bits_per_second", "Throughput measured by the player", labels,
            buckets=tuple(x * 1e6 for x in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)),
            registry=self.registry,
        )  # fmt: skip
        self.buffer = Histogram(
            "player_buffer_seconds", "Buffer ahead of the playhead at each sample", labels,
            buckets=(0, 0.5, 1, 2, 4, 8, 16, 32), registry=self.registry,
        )  # fmt: skip

    def record(self, beacon: Beacon) -> None:
        """Count every event of `beacon` and log it for correlation with edge logs."""
        if beacon.pop not in self.pops:
            raise BadRequest(f"unknown POP {beacon.pop!r}")
        labels = (beacon.pop, "live" if beacon.st == "l" else "vod")
        for event in beacon.events:
            match event:
                case Startup(ms=ms):
                    self.sessions.labels(*labels).inc()
                    self.startup.labels(*labels).observe(ms / 1000)
                case Rebuffer(ms=ms):
                    self.rebuffers.labels(*labels).inc()
                    self.rebuffer_seconds.labels(*labels).inc(ms / 1000)
                case Switch(br=br, from_br=from_br):
                    direction = "up" if br > from_br else "down"
                    self.switches.labels(*labels, direction).inc()
                case Error(type=kind, fatal=fatal):
                    self.errors.labels(*labels, kind, str(fatal).lower()).inc()
                case Sample(bl=bl, mtp=mtp):
                    self.buffer.labels(*labels).observe(bl / 1000)
                    if mtp:
                        self.throughput.labels(*labels).observe(mtp * 1000)
            if not isinstance(event, Sample):
                log.info(json.dumps({"sid": beacon.sid, "cid": beacon.cid, "pop": beacon.pop,
                                     **event.model_dump(exclude_none=True)}))  # fmt: skip
