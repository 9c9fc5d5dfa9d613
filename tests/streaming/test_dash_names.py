"""DASH in the shared vocabulary: .mpd is a manifest and .m4s a segment, at origin and edge alike;
a live MPD is cached no longer than half its update period."""

from __future__ import annotations

from edge.cacheability import Exchange, decide
from media import dash
from streaming.config import TTLPolicy
from streaming.hls import Kind, content_type, dash_update_period, kind_of

AT = Exchange(request_time=1_700_000_000.0, response_time=1_700_000_000.0)
MANIFESTS = TTLPolicy(min_ttl=0, default_ttl=2, max_ttl=86400, manifest_ttl=30)


def live_body() -> bytes:
    return dash.live_mpd([], [], segment_duration=4, window=10).encode()


def test_mpd_m4s_and_init_names_are_classified_and_typed() -> None:
    assert kind_of("/hls/v1/manifest.mpd") is Kind.MASTER
    assert kind_of("/live/news/manifest.mpd") is Kind.MASTER
    assert kind_of("/hls/v1/360p/seg_00001.m4s") is Kind.SEGMENT
    assert kind_of("/hls/v1/360p/init_360p.mp4") is Kind.INIT
    assert content_type("/hls/v1/manifest.mpd") == "application/dash+xml"
    assert content_type("/hls/v1/360p/seg_00001.m4s") == "video/iso.segment"
    assert content_type("/hls/v1/360p/init_360p.mp4") == "video/mp4"


def test_a_dynamic_mpd_has_an_update_period_a_static_one_none() -> None:
    assert dash_update_period(live_body()) == 4.0
    static = dash.vod_mpd([], [dash.Representation("a", 1, "mp4a.40.2", _line())], 4.0)
    assert dash_update_period(static.encode()) is None


def test_the_edge_keeps_a_live_mpd_at_most_half_its_update_period() -> None:
    """A configured manifest TTL (30 s) would hold a live MPD far too long: 2 s it is."""
    body = live_body()
    assert decide(200, {}, body, kind_of("/live/x/manifest.mpd"), MANIFESTS, AT).ttl == 2.0
    static = dash.vod_mpd([], [dash.Representation("a", 1, "mp4a.40.2", _line())], 4.0)
    assert decide(200, {}, static.encode(), Kind.MASTER, MANIFESTS, AT).ttl == 30


def _line() -> dash.Timeline:
    return dash.Timeline(48000, 0, ((0, 96000), (96000, 96000)))
