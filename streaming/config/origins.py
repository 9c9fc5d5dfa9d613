"""Origins and origin groups, and what every regional origin server is configured with."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from streaming.config._base import GiB, Identifier, MiB, SecretStr, _Listens, _Model
from streaming.hls import Container, Encryption


class StorageSettings(_Model):
    """Where an origin keeps packaged output: local disk (default) or S3-compatible storage.

    With `s3`, origins that name the same bucket share it: a video packaged by one region is
    served by every region without replication. A region may name its own bucket or cluster
    instead (`origins.N.storage`); then `origin.replication` says who copies between them.
    """

    backend: Literal["fs", "s3"] = "fs"
    bucket: str = ""
    endpoint_url: str = ""
    region_name: str = "us-east-1"
    prefix: Annotated[str, Field(pattern=r"^([A-Za-z0-9_-]+/)*$")] = ""
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    # Lifetime of the pre-signed PUT URL handed out by POST /videos/uploads.
    presign_expiry: Annotated[int, Field(ge=10, le=3600)] = 300

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> StorageSettings:
        if self.backend == "s3" and not self.bucket:
            raise ValueError("bucket is required when backend = 's3'")
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("access_key_id and secret_access_key go together")
        return self


class Origin(_Model, _Listens):
    """One regional origin, like a CloudFront origin (an S3 bucket or a custom HTTP origin)."""

    id: Identifier
    region: Identifier
    url: Annotated[str, Field(pattern=r"^https?://[^/\s]+$")]
    # Origin access control: edges sign requests with this secret; None leaves the origin open.
    access_secret: SecretStr | None = None
    # This region's own storage (its own bucket or cluster), in place of `origin.storage`.
    storage: StorageSettings | None = None


class HealthPolicy(_Model):
    """When an origin counts as down and when it gets traffic again (see docs/failover.md).

    Passive: `failure_threshold` consecutive failed requests open the circuit. Active: a GET of
    `check_path` every `check_interval` seconds (0 disables); `unhealthy_checks` failures in a row
    mark it down. A down origin is skipped with no timeout paid; after `recovery_checks` healthy
    checks in a row (or `open_seconds` without active checks) it is half-open: single real requests
    probe it, and `probe_successes` successes in a row close it (0: traffic moves back at once).
    """

    failure_threshold: Annotated[int, Field(ge=1, le=100)] = 3
    check_path: Annotated[str, Field(pattern=r"^/[^\s?#]*$")] = "/healthz"
    check_interval: Annotated[float, Field(ge=0, le=300)] = 1.0
    check_timeout: Annotated[float, Field(gt=0, le=30)] = 0.5
    unhealthy_checks: Annotated[int, Field(ge=1, le=100)] = 2
    recovery_checks: Annotated[int, Field(ge=1, le=100)] = 2
    open_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    probe_successes: Annotated[int, Field(ge=0, le=100)] = 2


FAILOVER_STATUS_CHOICES = frozenset({400, 403, 404, 416, 500, 502, 503, 504})


class OriginGroup(_Model):
    """Ordered origins with failover criteria; edges order members nearest-first unless pinned.

    Timeouts default well under one segment duration so a failover stays invisible to players
    (CloudFront's 3 attempts x 10 s would stall every viewer for 30 s).
    """

    id: Identifier
    members: Annotated[tuple[Identifier, ...], Field(min_length=1)]
    order: Literal["nearest", "pinned"] = "nearest"
    failover_status_codes: tuple[int, ...] = (500, 502, 503, 504)
    connect_timeout: Annotated[float, Field(gt=0, le=10)] = 0.5
    # Time to first byte and the longest idle gap between body chunks (CloudFront's read timeout).
    response_timeout: Annotated[float, Field(gt=0, le=120)] = 1.0
    # A held LL-HLS request (blocking reload, preload-hinted part) waits this long for its first
    # byte: longer than the origin's own bounded hold, so the origin answers it, not a timeout.
    ll_hold_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    attempts: Annotated[int, Field(ge=1, le=3)] = 1  # connection attempts per member
    health: HealthPolicy = HealthPolicy()

    @model_validator(mode="after")
    def _status_codes(self) -> OriginGroup:
        if unknown := set(self.failover_status_codes) - FAILOVER_STATUS_CHOICES:
            allowed = ", ".join(str(c) for c in sorted(FAILOVER_STATUS_CHOICES))
            raise ValueError(f"failover_status_codes: {sorted(unknown)} not in {allowed}")
        return self


class ReplicationSettings(_Model):
    """How ready videos and deletes reach the other regional origins (docs/origin.md).

    `mode`: "origin", this project's outbox copies every file to every peer (local disk, or
    buckets the storage engine does not replicate); "storage", the storage engine copies between
    the regions' buckets (SeaweedFS `weed filer.sync`, S3 cross-region replication) and the outbox
    only waits until each peer's bucket holds the video; "none", every region reads one shared
    bucket and nothing is copied; "auto", "none" when every origin names the same bucket, else
    "origin". Deletes reach every peer in every mode. Owed work is retried, forever, after
    `backoff_base` seconds doubling up to `backoff_cap`; every `reconcile_interval` seconds (and at
    start) each origin compares its ready videos and deletes with each peer's.
    """

    mode: Literal["auto", "origin", "storage", "none"] = "auto"
    reconcile_interval: Annotated[float, Field(ge=0.1, le=3600)] = 30.0
    backoff_base: Annotated[float, Field(gt=0, le=60)] = 0.5
    backoff_cap: Annotated[float, Field(gt=0, le=3600)] = 30.0

    @model_validator(mode="after")
    def _base_below_cap(self) -> ReplicationSettings:
        if self.backoff_base > self.backoff_cap:
            raise ValueError(
                f"backoff_base ({self.backoff_base}) must not exceed backoff_cap "
                f"({self.backoff_cap})"
            )
        return self


class LiveChannel(_Model):
    """A 24/7 channel each origin packages in real time, named by the wall clock.

    Segment numbers are floor(epoch / segment_duration), so regional origins running the same
    channel independently publish the same names and media sequence numbers.
    """

    name: Identifier
    # "testsrc" (a test pattern with a tone), a video file, or an uploaded video id; looped.
    source: Annotated[str, Field(min_length=1)] = "testsrc"
    segment_duration: Annotated[int, Field(ge=1, le=10)] = 2
    window: Annotated[int, Field(ge=6, le=900)] = 10  # Apple: a live playlist holds >= 6
    heights: Annotated[tuple[Annotated[int, Field(ge=90, le=1080)], ...], Field(min_length=1)] = (
        360,
        180,
    )
    frame_rate: Annotated[int, Field(ge=10, le=60)] = 25
    # LL-HLS (fMP4 parts of about `part_target` seconds, blocking reloads, delta updates).
    low_latency: bool = False
    part_target: Annotated[float, Field(ge=0.2, le=1.0)] = 0.5
    # Classic (not low_latency) channels: fmp4 publishes CMAF segments (init + .m4s, EXT-X-MAP)
    # and a dynamic manifest.mpd beside the master over the same segments (docs/cmaf.md).
    container: Container = Container.TS


class LadderRung(_Model):
    """One rung of the VOD ladder, keyed by the short side of the picture.

    A 1920x1080 source and a 1080x1920 portrait one both get the 1080 rung at their own
    orientation (1920x1080, 1080x1920). Bit rates are for a 16:9 picture and scale with the
    rendition's area for other aspect ratios.
    """

    short_side: Annotated[int, Field(ge=64, le=2160, multiple_of=2)]
    video_kbps: Annotated[int, Field(ge=50, le=60_000)]
    audio_kbps: Annotated[int, Field(ge=32, le=320)] = 128


# Apple HLS authoring spec figures, trimmed to four rungs.
DEFAULT_LADDER = (
    LadderRung(short_side=1080, video_kbps=6000),
    LadderRung(short_side=720, video_kbps=3000),
    LadderRung(short_side=480, video_kbps=1400, audio_kbps=96),
    LadderRung(short_side=360, video_kbps=730, audio_kbps=96),
)


class QueueSettings(_Model):
    """Where packaging tasks wait (docs/origin.md, "Packaging queue").

    `sqlite` (the default): the origin runs the job code itself, `origin.workers` tasks at a
    time, on a queue in its own SQLite file. `redis`: origins only enqueue; `streaming
    packager` workers on any host take the tasks from Redis Streams (`url`), read sources from
    and write outputs to the S3 store. A task whose worker stops renewing its lease for
    `visibility_timeout` seconds goes to another worker; after `max_attempts` deliveries it is
    dead-lettered and its video fails with the reason. With `redis`, or `sqlite` and `chunked`,
    TS uploads are encoded in chunks of about `chunk_seconds` (whole segments) that workers
    encode at once; other uploads (and all with the default) are packaged whole, one ffmpeg
    process each.
    """

    engine: Literal["sqlite", "redis"] = "sqlite"
    chunked: bool = False
    url: str = ""
    visibility_timeout: Annotated[float, Field(ge=1, le=3600)] = 30.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    chunk_seconds: Annotated[float, Field(ge=1, le=3600)] = 60.0

    @model_validator(mode="after")
    def _url_for_redis(self) -> QueueSettings:
        if self.engine == "redis" and not self.url.startswith(("redis://", "rediss://")):
            raise ValueError("url: engine = 'redis' needs a redis:// or rediss:// URL")
        return self


class OriginSettings(_Model):
    """Settings shared by every regional origin server.

    Every request body is bounded (413 past the limit, checked on Content-Length before a byte
    is read and counted as a chunked body arrives): an upload by `max_upload_bytes` (plus the
    multipart framing), one file of a replica by `max_upload_bytes`, any other body (JSON API
    bodies, read whole before the route runs) by `max_api_body_bytes`.
    """

    data_dir: str = ".data/origin"
    segment_duration: Annotated[float, Field(gt=0.5, le=20)] = 4.0
    max_upload_bytes: Annotated[int, Field(gt=0)] = 2 * GiB
    # A replica commit lists every file of a video: about 20 bytes per segment and rendition.
    max_api_body_bytes: Annotated[
        int, Field(gt=0, description="bound on API bodies other than uploads and replica files")
    ] = 8 * MiB
    # The server (uvicorn + httptools) sets no bound of its own; above the edge's CloudFront
    # limits (8 KiB URL, 20 KiB headers), which forwarded requests already meet.
    max_url_bytes: Annotated[
        int, Field(ge=1024, description="414 past this many bytes of request target")
    ] = 16 * 1024
    max_header_bytes: Annotated[
        int, Field(ge=4096, description="431 past this many bytes or 200 header fields")
    ] = 32 * 1024
    workers: Annotated[int, Field(ge=1, le=16)] = 1
    ffmpeg: str = ""
    # Default for uploads that do not ask (POST /videos?encryption=aes-128 overrides per video).
    encryption: Encryption = Encryption.NONE
    # Default segment container for uploads (POST /videos?container=fmp4 overrides per video);
    # fmp4 videos also get a DASH manifest.mpd over the same segments (docs/cmaf.md).
    container: Container = Container.TS
    storage: StorageSettings = StorageSettings()
    replication: ReplicationSettings = ReplicationSettings()
    queue: QueueSettings = QueueSettings()
    # Rungs above the source's short side are skipped (never upscaled); see docs/origin.md.
    ladder: Annotated[tuple[LadderRung, ...], Field(min_length=1, max_length=8)] = DEFAULT_LADDER

    @model_validator(mode="after")
    def _distinct_rungs(self) -> OriginSettings:
        sides = [r.short_side for r in self.ladder]
        if len(set(sides)) != len(sides):
            raise ValueError(f"ladder: two rungs with the same short_side ({sorted(sides)})")
        return self

    @property
    def chunked(self) -> bool:
        """Whether TS uploads are encoded in chunks (on a queue engine, or asked for)."""
        return self.queue.engine != "sqlite" or self.queue.chunked

