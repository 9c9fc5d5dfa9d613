"""Storage and freshness: RFC 9111 under CloudFront's table, HLS kinds, errors, stale windows."""

from __future__ import annotations

import pytest

from edge.cacheability import NOT_STORED, Exchange, decide, shareable
from streaming import cache_control
from streaming.config import TTLPolicy
from streaming.hls import Kind

NOW = 1_700_000_000.0
AT = Exchange(request_time=NOW, response_time=NOW)
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
    ({"cache-control": "no-cache", "etag": '"a"'}, DEFAULT, 0),            # honoured: revalidate
    ({"cache-control": "private"}, FLOORED, 60),                           # cached MinTTL otherwise
    ({"cache-control": "no-store, max-age=500"}, FLOORED, 60),
])  # fmt: skip
def test_cloudfront_ttl_table(headers: dict[str, str], policy: TTLPolicy, ttl: float) -> None:
    """The origin's Cache-Control / Expires against Min/Default/Max TTL (AWS Expiration table)."""
    assert decide(200, headers, b"", Kind.OTHER, policy, AT).ttl == ttl


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
    assert decide(200, headers, body, kind, DEFAULT, AT).ttl == ttl


def test_configured_manifest_and_segment_ttls_win_but_live_stays_short() -> None:
    """manifest_ttl/segment_ttl override the origin; a live playlist is still capped at target/2."""
    policy = TTLPolicy(manifest_ttl=30, segment_ttl=1209600)
    assert decide(200, {"cache-control": "max-age=5"}, b"", Kind.SEGMENT, policy, AT).ttl == 1209600
    assert decide(200, {}, VOD, Kind.MEDIA_PLAYLIST, policy, AT).ttl == 30
    assert decide(200, {}, LIVE, Kind.MEDIA_PLAYLIST, policy, AT).ttl == 3


@pytest.mark.parametrize(("status", "headers", "ttl"), [
    (404, {}, 10), (500, {}, 10), (502, {}, 10),
    (503, {"cache-control": "no-store"}, 0),  # no-store holds for errors too (RFC 9111 §3)
    (404, {"cache-control": "max-age=60"}, 60),   # max(error minimum, origin max-age)
    (403, {}, 0), (403, {"cache-control": "max-age=5"}, 10),  # only when the origin says so
    (416, {}, 0), (204, {}, 0), (302, {}, 0),
    (204, {"cache-control": "max-age=60"}, 60), (302, {"cache-control": "max-age=60"}, 60),
    (599, {"cache-control": "max-age=60"}, 60),  # any final status with explicit freshness
])  # fmt: skip
def test_error_caching(status: int, headers: dict[str, str], ttl: float) -> None:
    """404/5xx cached for the error TTL (10 s); 400/403/405 only with max-age; 416 never."""
    assert decide(status, headers, b"", Kind.OTHER, DEFAULT, AT).ttl == ttl


def test_error_ttl_per_status_and_live_segment_404() -> None:
    """A custom error response's TTL replaces the default; a live segment's 404 ≤ target."""
    assert decide(404, {}, b"", Kind.OTHER, DEFAULT, AT, error_minimum=2).ttl == 2
    assert decide(404, {}, b"", Kind.SEGMENT, DEFAULT, AT, target=4).ttl == 4
    assert decide(404, {}, b"", Kind.SEGMENT, DEFAULT, AT).ttl == 10


def test_stale_windows_from_the_origin_else_the_policy_bounded_by_max_stale() -> None:
    """stale-while-revalidate / stale-if-error directives, policy defaults, the global bound."""
    told = decide(
        200, {"cache-control": "max-age=10, stale-while-revalidate=30, stale-if-error=99999"},
        b"", Kind.SEGMENT, DEFAULT, AT, max_stale=3600,
    )  # fmt: skip
    assert (told.ttl, told.swr, told.sie) == (10, 30, 3600)
    untold = decide(200, {"cache-control": "max-age=10"}, b"", Kind.SEGMENT, DEFAULT, AT)
    assert (untold.swr, untold.sie) == (DEFAULT.stale_while_revalidate, DEFAULT.stale_if_error)
    live = decide(
        200,
        {"cache-control": "max-age=60, stale-while-revalidate=60"},
        LIVE,
        Kind.MEDIA_PLAYLIST,
        DEFAULT,
        AT,
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
            AT,
        )
        == NOT_STORED
    )
    assert not shareable({"cache-control": "private, max-age=60"})
    assert shareable({"cache-control": "public, max-age=60"})


RFC = TTLPolicy(min_ttl=0, default_ttl=0, max_ttl=31536000)  # no default caching


def at(**headers: str) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in headers.items()}


def test_age_from_upstream_and_date_make_the_initial_age() -> None:
    """RFC 9111 §4.2.3: the larger of apparent age (now − Date) and Age plus the delay."""
    told = decide(200, at(cache_control="max-age=3600", age="3000"), b"", Kind.OTHER, RFC, AT)
    assert (told.ttl, told.age) == (3600, 3000)
    dated = at(cache_control="max-age=3600", date=cache_control.http_date(NOW - 100))
    assert decide(200, dated, b"", Kind.OTHER, RFC, AT).age == 100
    slow = Exchange(request_time=NOW - 5, response_time=NOW)
    assert (
        decide(200, at(cache_control="max-age=60", age="10"), b"", Kind.OTHER, RFC, slow).age == 15
    )


@pytest.mark.parametrize(("age", "initial"), [
    ("abc", 0), ("-7200", 0), ("7200.0", 0), ("7200;foo=bar", 0),  # malformed: ignored
    ("0,7200", 0), ("7200, 0", 7200),  # a list keeps its first member (RFC 9111 §5.1)
])  # fmt: skip
def test_a_malformed_age_is_ignored_and_a_list_keeps_its_first_member(
    age: str, initial: float
) -> None:
    found = decide(200, at(cache_control="max-age=3600", age=age), b"", Kind.OTHER, RFC, AT)
    assert found.age == initial


def test_expires_counts_from_the_response_date_and_bad_dates_mean_expired() -> None:
    headers = at(
        date=cache_control.http_date(NOW - 1000), expires=cache_control.http_date(NOW - 900)
    )
    assert decide(200, {**headers, "etag": '"x"'}, b"", Kind.OTHER, RFC, AT).ttl == 100
    for bad in ("Thu, 18 Aug 2050 02:01:18 UTC", "THU, 18 Aug 2050 02:01:18 GMT", "0", "soon"):
        assert decide(200, at(expires=bad), b"", Kind.OTHER, RFC, AT) == NOT_STORED


def test_heuristic_freshness_needs_last_modified_and_a_heuristic_status() -> None:
    modified = at(last_modified=cache_control.http_date(NOW - 10_000))
    assert decide(200, modified, b"", Kind.OTHER, RFC, AT).ttl == 1000  # 10 % of its age
    assert decide(200, {}, b"", Kind.OTHER, RFC, AT) == NOT_STORED  # no default caching
    assert decide(302, modified, b"", Kind.OTHER, RFC, AT) == NOT_STORED  # not heuristic


@pytest.mark.parametrize(("headers", "authorization", "stored"), [
    ({"cache-control": "max-age=60"}, True, False),      # §3.5: not shared by default
    ({"cache-control": "public, max-age=60"}, True, True),
    ({"cache-control": "s-maxage=60"}, True, True),
    ({"cache-control": "must-revalidate, max-age=60"}, True, True),
    ({"cache-control": "max-age=60", "vary": "*"}, False, False),  # Vary: * never matches
    ({"cache-control": "private, max-age=60"}, False, False),
    ({"cache-control": "no-store, max-age=60"}, False, False),
    ({"cache-control": 'extension="max-age=60"'}, False, False),  # no directive in a string
])  # fmt: skip
def test_storage_rules_of_a_shared_cache(
    headers: dict[str, str], authorization: bool, stored: bool
) -> None:
    exchange = Exchange(authorization=authorization, request_time=NOW, response_time=NOW)
    assert decide(200, headers, b"", Kind.OTHER, RFC, exchange).store is stored


def test_must_revalidate_and_s_maxage_forbid_serving_stale() -> None:
    policy = TTLPolicy(stale_while_revalidate=30, stale_if_error=300)
    for value in ("max-age=10, must-revalidate", "max-age=10, proxy-revalidate", "s-maxage=10"):
        found = decide(200, at(cache_control=value), b"", Kind.OTHER, policy, AT)
        assert (found.swr, found.sie) == (0, 0), value


def test_targeted_cache_control_wins_for_the_edge() -> None:
    """RFC 9213: CDN-Cache-Control (and our own targeted field) before Cache-Control."""
    targeted = ("streaming-cdn-cache-control", "cdn-cache-control")
    headers = at(cache_control="max-age=10", cdn_cache_control="max-age=100")
    assert decide(200, headers, b"", Kind.OTHER, RFC, AT, targeted=targeted).ttl == 100
    ours = {**headers, "streaming-cdn-cache-control": "max-age=7"}
    assert decide(200, ours, b"", Kind.OTHER, RFC, AT, targeted=targeted).ttl == 7
    no_store = at(cache_control="max-age=100", cdn_cache_control="no-store")
    assert decide(200, no_store, b"", Kind.OTHER, RFC, AT, targeted=targeted) == NOT_STORED
    for invalid in (", ,", "max-age=10000, &&&&&", 'max-age="10000"', "MAX-AGE=1"):
        headers = at(cache_control="max-age=10", cdn_cache_control=invalid)
        assert decide(200, headers, b"", Kind.OTHER, RFC, AT, targeted=targeted).ttl == 10, invalid
