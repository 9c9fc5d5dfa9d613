"""TTL decisions: CloudFront's table, HLS kinds, error caching and stale windows."""

from __future__ import annotations

import pytest

from edge.cacheability import NOT_CACHED, decide, origin_ttl, shareable
from streaming import cache_control
from streaming.config import TTLPolicy
from streaming.hls import Kind

NOW = 1_700_000_000.0
DEFAULT = TTLPolicy(min_ttl=0, default_ttl=86400, max_ttl=31536000)
FLOORED = TTLPolicy(min_ttl=60, default_ttl=86400, max_ttl=600)


@pytest.mark.parametrize(("headers", "policy", "ttl"), [
    ({"cache-control": "max-age=300"}, DEFAULT, 300),                      # max-age
    ({"cache-control": "max-age=3600"}, FLOORED, 600),                     # clamped to MaxTTL
    ({"cache-control": "max-age=10"}, FLOORED, 60),                        # raised to MinTTL
    ({"cache-control": "max-age=100, s-maxage=20"}, DEFAULT, 20),          # s-maxage wins
    ({"cache-control": "s-maxage=5000"}, FLOORED, 600),
    ({"expires": cache_control.http_date(NOW + 120)}, DEFAULT, 120),       # Expires only
    ({"expires": cache_control.http_date(NOW + 99999)}, FLOORED, 600),
    ({"cache-control": "max-age=30", "expires": cache_control.http_date(NOW + 9999)}, DEFAULT, 30),
    ({}, DEFAULT, 86400),                                                   # nothing: DefaultTTL
    ({}, TTLPolicy(min_ttl=100000, default_ttl=86400, max_ttl=200000), 100000),  # max(Min, Default)
    ({"cache-control": "no-cache"}, DEFAULT, 0),                           # honoured with MinTTL 0
    ({"cache-control": "private"}, FLOORED, 60),                           # cached MinTTL otherwise
    ({"cache-control": "no-store, max-age=500"}, FLOORED, 60),
])  # fmt: skip
def test_cloudfront_ttl_table(headers: dict[str, str], policy: TTLPolicy, ttl: float) -> None:
    """The origin's Cache-Control / Expires against Min/Default/Max TTL (AWS Expiration table)."""
    assert origin_ttl(headers, policy, NOW) == ttl


LIVE = b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:9\n#EXTINF:6.0,\ns9.ts\n"
EVENT = b"#EXTM3U\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\ns0.ts\n"
VOD = (
    b"#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\ns0.ts\n"
    b"#EXT-X-ENDLIST\n"
)
MASTER = b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n720p/index.m3u8\n"


@pytest.mark.parametrize(("kind", "body", "headers", "ttl"), [
    (Kind.MEDIA_PLAYLIST, LIVE, {"cache-control": "max-age=60"}, 3),       # live: ≤ target/2
    (Kind.MEDIA_PLAYLIST, EVENT, {"cache-control": "max-age=60"}, 2),      # EVENT: short too
    (Kind.MEDIA_PLAYLIST, VOD, {"cache-control": "max-age=86400"}, 86400), # VOD: long
    (Kind.MASTER, MASTER, {"cache-control": "max-age=86400"}, 86400),
    (Kind.SEGMENT, b"", {"cache-control": "max-age=1209600"}, 1209600),    # segments long
])  # fmt: skip
def test_hls_kinds_get_their_own_ttls(
    kind: Kind, body: bytes, headers: dict[str, str], ttl: float
) -> None:
    """Live and EVENT playlists never outlive half their target duration, whatever max-age says."""
    assert decide(200, headers, body, kind, DEFAULT, NOW).ttl == ttl


def test_configured_manifest_and_segment_ttls_win_but_live_stays_short() -> None:
    """manifest_ttl/segment_ttl override the origin; a live playlist is still capped at target/2."""
    policy = TTLPolicy(manifest_ttl=30, segment_ttl=1209600)
    assert (
        decide(200, {"cache-control": "max-age=5"}, b"", Kind.SEGMENT, policy, NOW).ttl == 1209600
    )
    assert decide(200, {}, VOD, Kind.MEDIA_PLAYLIST, policy, NOW).ttl == 30
    assert decide(200, {}, LIVE, Kind.MEDIA_PLAYLIST, policy, NOW).ttl == 3


@pytest.mark.parametrize(("status", "headers", "ttl"), [
    (404, {}, 10), (500, {}, 10), (503, {"cache-control": "no-store"}, 10), (502, {}, 10),
    (404, {"cache-control": "max-age=60"}, 60),   # max(error minimum, origin max-age)
    (403, {}, 0), (403, {"cache-control": "max-age=5"}, 10),  # only when the origin says so
    (416, {}, 0), (204, {}, 0), (302, {}, 0),
])  # fmt: skip
def test_error_caching(status: int, headers: dict[str, str], ttl: float) -> None:
    """404/5xx cached for the error TTL (10 s); 400/403/405 only with max-age; 416 never."""
    assert decide(status, headers, b"", Kind.OTHER, DEFAULT, NOW).ttl == ttl


def test_error_ttl_per_status_and_live_segment_404() -> None:
    """A custom error response's TTL replaces the default; a live segment's 404 ≤ target."""
    assert decide(404, {}, b"", Kind.OTHER, DEFAULT, NOW, error_minimum=2).ttl == 2
    assert decide(404, {}, b"", Kind.SEGMENT, DEFAULT, NOW, target=4).ttl == 4
    assert decide(404, {}, b"", Kind.SEGMENT, DEFAULT, NOW).ttl == 10


def test_stale_windows_from_the_origin_else_the_policy_bounded_by_max_stale() -> None:
    """stale-while-revalidate / stale-if-error directives, policy defaults, the global bound."""
    told = decide(
        200, {"cache-control": "max-age=10, stale-while-revalidate=30, stale-if-error=99999"},
        b"", Kind.SEGMENT, DEFAULT, NOW, max_stale=3600,
    )  # fmt: skip
    assert (told.ttl, told.swr, told.sie) == (10, 30, 3600)
    untold = decide(200, {"cache-control": "max-age=10"}, b"", Kind.SEGMENT, DEFAULT, NOW)
    assert (untold.swr, untold.sie) == (DEFAULT.stale_while_revalidate, DEFAULT.stale_if_error)
    live = decide(
        200,
        {"cache-control": "max-age=60, stale-while-revalidate=60"},
        LIVE,
        Kind.MEDIA_PLAYLIST,
        DEFAULT,
        NOW,
    )
    assert live.swr == live.ttl == 3  # a live playlist lags at most one TTL


def test_caching_disabled_policy_and_sharing() -> None:
    """max_ttl 0 never caches; private/no-store answers are not shared between viewers."""
    assert (
        decide(
            200,
            {"cache-control": "max-age=60"},
            b"",
            Kind.OTHER,
            TTLPolicy(default_ttl=0, max_ttl=0),
            NOW,
        )
        == NOT_CACHED
    )
    assert not shareable({"cache-control": "private, max-age=60"})
    assert shareable({"cache-control": "public, max-age=60"})
