"""The vertical slice through real processes: upload → package → replicate → play via edges."""

from __future__ import annotations

from pathlib import Path

import httpx
import m3u8

from tests.factories import Topology
from tests.helpers import hls_paths, upload, wait_state


def test_viewer_gets_miss_then_hit_with_origin_identical_bytes(
    topology: Topology, clip: Path
) -> None:
    """Every object of an uploaded video comes through each edge: Miss, then Hit, same bytes."""
    primary = topology.origin_url("us-east")
    video_id = upload(primary, clip)
    status = wait_state(primary, video_id)
    wait_state(topology.origin_url("eu-west"), video_id)
    master_path = str(status["master_path"])

    paths = hls_paths(primary, master_path)
    assert len(paths) >= 4  # master, one media playlist, at least two segments
    for pop in ("iad", "fra"):
        edge = topology.edge_url(pop)
        for path in paths:
            first = httpx.get(edge + path, timeout=10)
            second = httpx.get(edge + path, timeout=10)
            from_origin = httpx.get(primary + path, timeout=10)
            assert first.status_code == second.status_code == 200, path
            assert first.headers["x-cache"] == f"Miss from {pop}", path
            assert second.headers["x-cache"] == f"Hit from {pop}", path
            assert first.content == second.content == from_origin.content, path
            assert first.headers["content-type"] == from_origin.headers["content-type"]


def test_master_through_edge_is_a_valid_vod_presentation(topology: Topology, clip: Path) -> None:
    """The master fetched through an edge parses as HLS and its media playlists are VOD."""
    primary = topology.origin_url("us-east")
    video_id = upload(primary, clip)
    master_path = str(wait_state(primary, video_id)["master_path"])
    edge = topology.edge_url("iad")
    master = m3u8.loads(httpx.get(edge + master_path, timeout=10).text)
    assert master.is_variant and master.playlists
    for variant in master.playlists:
        info = variant.stream_info
        assert info.bandwidth and info.average_bandwidth and info.resolution and info.codecs
        media = m3u8.loads(httpx.get(f"{edge}/hls/{video_id}/{variant.uri}", timeout=10).text)
        assert media.playlist_type == "vod" and media.is_endlist
        assert media.target_duration and media.segments


def test_replica_region_serves_byte_identical_files(topology: Topology, clip: Path) -> None:
    """The second region gets a complete copy: every file byte-identical to the packaging origin."""
    primary, replica = topology.origin_url("us-east"), topology.origin_url("eu-west")
    video_id = upload(primary, clip)
    master_path = str(wait_state(primary, video_id)["master_path"])
    wait_state(replica, video_id)
    for path in hls_paths(primary, master_path):
        assert httpx.get(primary + path).content == httpx.get(replica + path).content, path
