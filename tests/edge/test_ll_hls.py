"""LL-HLS at the edge, in-process: the playlist cache key, held requests, their TTLs."""

from __future__ import annotations

import pytest

from edge import ll_hls
from edge.cache_key import cache_key, forwarded_query
from edge.cacheability import Exchange, decide
from streaming.config import CacheKeyPolicy, TTLPolicy
from streaming.hls import Kind

NOW = 1_700_000_000.0
AT = Exchange(request_time=NOW, response_time=NOW)
DEFAULT = TTLPolicy(min_ttl=0, default_ttl=86400, max_ttl=31536000)
DROPS = CacheKeyPolicy()  # the behavior drops every query string
LISTS_V = CacheKeyPolicy(query_strings=("v",))
LL = (
    b"#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n"
    b"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=12\n"
    b'#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:100\n#EXT-X-MAP:URI="init.mp4"\n'
    b'#EXTINF:2.0,\n100.m4s\n#EXT-X-PART:DURATION=0.5,URI="101.0.m4s",INDEPENDENT=YES\n'
    b'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="101.1.m4s"\n'
)
CLASSIC = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:9\n#EXTINF:2.0,\n9.ts\n"


@pytest.mark.parametrize("policy", [DROPS, LISTS_V])
def test_hls_directives_key_a_playlist_even_when_the_behavior_drops_query_strings(
    policy: CacheKeyPolicy,
) -> None:
    """Each (msn, part, skip) is its own playlist; order does not matter; other parameters
    keep the behavior's rule."""
    one = cache_key("GET", "/live/a/360p.m3u8", "_HLS_part=2&x=1&_HLS_msn=101", {}, policy)
    two = cache_key("GET", "/live/a/360p.m3u8", "_HLS_msn=101&_HLS_part=2", {}, policy)
    other = cache_key("GET", "/live/a/360p.m3u8", "_HLS_msn=101&_HLS_part=3", {}, policy)
    skip = cache_key("GET", "/live/a/360p.m3u8", "_HLS_msn=101&_HLS_part=2&_HLS_skip=YES", {},
                     policy)  # fmt: skip
    plain = cache_key("GET", "/live/a/360p.m3u8", "", {}, policy)
    assert one == two == "/live/a/360p.m3u8|?_HLS_msn=101&_HLS_part=2"
    assert len({one, other, skip, plain}) == 4
    assert "x=1" not in one
    with_v = cache_key("GET", "/live/a/360p.m3u8", "v=3&_HLS_msn=101", {}, policy)
    assert ("v=3" in with_v) is (policy is LISTS_V)


def test_hls_directives_on_other_objects_follow_the_behavior() -> None:
    """Only playlists: a segment's `_HLS_msn` is dropped like any unlisted parameter."""
    assert cache_key("GET", "/live/a/101.0.m4s", "_HLS_msn=101", {}, DROPS) == "/live/a/101.0.m4s"
    assert forwarded_query("_HLS_msn=101", DROPS) == ""
    assert forwarded_query("_HLS_msn=101&_HLS_part=1", DROPS, playlist=True) == (
        "_HLS_msn=101&_HLS_part=1"
    )


def test_blocking_reloads_and_part_requests_are_held_others_not() -> None:
    assert ll_hls.held(Kind.MEDIA_PLAYLIST, "/live/a/360p.m3u8", "_HLS_msn=5&_HLS_part=1")
    assert ll_hls.held(Kind.MEDIA_PLAYLIST, "/live/a/360p.m3u8", "_HLS_msn=5")
    assert not ll_hls.held(Kind.MEDIA_PLAYLIST, "/live/a/360p.m3u8", "_HLS_skip=YES")
    assert not ll_hls.held(Kind.MEDIA_PLAYLIST, "/live/a/360p.m3u8", "")
    assert ll_hls.held(Kind.SEGMENT, "/live/a/360p/101.3.m4s", "")
    assert not ll_hls.held(Kind.SEGMENT, "/live/a/360p/101.m4s", "")
    assert not ll_hls.held(Kind.SEGMENT, "/vod/abc/720p/seg_00001.ts", "")
    assert ll_hls.part_target(LL) == 0.5 and ll_hls.part_target(CLASSIC) is None


def test_a_blocking_answer_is_kept_long_the_plain_ll_playlist_a_fraction_of_part_target() -> None:
    """The blocking answer holds its part whenever served; the plain one changes every part."""
    told = {"cache-control": "max-age=60"}
    blocking = decide(200, told, LL, Kind.MEDIA_PLAYLIST, DEFAULT, AT, held=True)
    plain = decide(200, told, LL, Kind.MEDIA_PLAYLIST, DEFAULT, AT)
    classic = decide(200, told, CLASSIC, Kind.MEDIA_PLAYLIST, DEFAULT, AT)
    assert blocking.ttl == 60
    assert plain.ttl == 0.25  # half of PART-TARGET
    assert classic.ttl == 1  # half the target duration, as before
    short = decide(200, {"cache-control": "max-age=0.1"}, LL, Kind.MEDIA_PLAYLIST, DEFAULT, AT)
    assert short.ttl <= 0.25  # the origin's shorter word still counts (max-age is whole seconds)
    part = decide(200, {"cache-control": "max-age=1209600"}, b"", Kind.SEGMENT, DEFAULT, AT,
                  held=True)  # fmt: skip
    assert part.ttl == 1209600


@pytest.mark.parametrize("status", [503, 404])
def test_an_error_answer_to_a_held_request_is_kept_only_a_moment(status: int) -> None:
    """The origin's bounded hold ran out (503), the part is not there yet (404): it is due soon."""
    for kind in (Kind.MEDIA_PLAYLIST, Kind.SEGMENT):
        held = decide(status, {"cache-control": "max-age=30"}, b"", kind, DEFAULT, AT, held=True)
        assert 0 < held.ttl <= ll_hls.HELD_ERROR_TTL
    unheld = decide(status, {}, b"", Kind.OTHER, DEFAULT, AT)
    assert unheld.ttl == 10
