"""HLS Content Steering: the steering manifest and a master cloned once per POP pathway."""

from __future__ import annotations

import m3u8

from steering.manifest import steered_master, steering_manifest
from streaming.config import Edge

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001f,mp4a.40.2"
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=320x180,CODECS="avc1.64001f,mp4a.40.2"
180p/index.m3u8
"""
POPS = [Edge(pop="fra", region="eu-west", port=8202), Edge(pop="iad", region="us-east", port=8201)]


def test_manifest_lists_pathways_in_priority_order() -> None:
    """PATHWAY-PRIORITY is the POP order given; TTL and RELOAD-URI are carried through."""
    body = steering_manifest(POPS, 10, "http://127.0.0.1:8400/steering.json?region=eu-west")
    assert body == {
        "VERSION": 1,
        "TTL": 10,
        "RELOAD-URI": "http://127.0.0.1:8400/steering.json?region=eu-west",
        "PATHWAY-PRIORITY": ["fra", "iad"],
    }


def test_steered_master_clones_every_variant_per_pop_with_absolute_uris() -> None:
    """Each POP gets every variant with PATHWAY-ID and URIs on it; the steering tag points home."""
    text = steered_master(
        MASTER, "/hls/abc/master.m3u8", POPS, "http://127.0.0.1:8400/steering.json"
    )
    assert (
        '#EXT-X-CONTENT-STEERING:SERVER-URI="http://127.0.0.1:8400/steering.json",PATHWAY-ID="fra"'
        in text
    )
    parsed = m3u8.loads(text)
    uris = [p.uri for p in parsed.playlists]
    assert uris == [
        "http://127.0.0.1:8202/hls/abc/360p/index.m3u8",
        "http://127.0.0.1:8202/hls/abc/180p/index.m3u8",
        "http://127.0.0.1:8201/hls/abc/360p/index.m3u8",
        "http://127.0.0.1:8201/hls/abc/180p/index.m3u8",
    ]
    assert text.count('PATHWAY-ID="iad"') == 2 and text.count('PATHWAY-ID="fra"') == 3
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text
