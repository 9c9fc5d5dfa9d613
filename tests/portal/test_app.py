"""The portal serves its pages, hls.js from npm's install, its config API and Prometheus metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portal.app import create_app
from streaming.cli.portal import hls_dist
from streaming.errors import ConfigError
from tests.factories import distribution
from tests.portal.conftest import portal_client

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("path", "marker"), [
    ("/", b"library.js"), ("/player", b"player-page.js"), ("/upload", b"upload.js"),
])  # fmt: skip
async def test_pages_are_served(path: str, marker: bytes) -> None:
    """Library, player and upload pages are plain HTML loading their ES module."""
    async with portal_client(create_app(distribution(), hls_dist())) as client:
        page = await client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert marker in page.content


async def test_hls_js_comes_from_the_npm_install_never_a_cdn() -> None:
    """/vendor/hls/hls.mjs is the pinned package's file; no page references another host."""
    pinned = json.loads((Path(__file__).parents[2] / "package.json").read_text())["dependencies"][
        "hls.js"
    ]
    async with portal_client(create_app(distribution(), hls_dist())) as client:
        module = await client.get("/vendor/hls/hls.mjs")
        pages = [(await client.get(p)).text for p in ("/", "/player", "/upload")]
        player = (await client.get("/static/player.js")).text
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    assert module.content == (hls_dist() / "hls.mjs").read_bytes()
    assert f'"version": "{pinned}"' in (hls_dist().parent / "package.json").read_text()
    assert "from '/vendor/hls/hls.mjs'" in player
    assert not any(
        "//cdn" in text or "jsdelivr" in text or "unpkg" in text for text in [*pages, player]
    )


def test_a_missing_npm_install_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without `npm ci` the portal refuses to start and says what to run."""
    monkeypatch.setattr("streaming.cli.portal.HLS_DIST", tmp_path)
    with pytest.raises(ConfigError, match="npm ci"):
        hls_dist()


async def test_config_lists_edges_origins_and_live_channels(tmp_path: Path) -> None:
    """The pages learn the topology from /api/config, never from hard-coded URLs."""
    pops = (("iad", "us-east"), ("fra", "eu-west"))
    dist = distribution(regions=("us-east", "eu-west"), pops=pops, live_channels=[{"name": "news"}])
    async with portal_client(create_app(dist, tmp_path, tmp_path / "state.json")) as client:
        config = (await client.get("/api/config")).json()
    assert config["edges"] == [{"pop": e.pop, "region": e.region, "url": e.url} for e in dist.edges]
    assert [o["region"] for o in config["origins"]] == ["us-east", "eu-west"]
    assert config["live"] == [{"channel": "news", "path": "/live/news/master.m3u8"}]
    assert config["controls"] is True


async def test_telemetry_beacons_show_up_in_metrics(tmp_path: Path) -> None:
    """POST /api/telemetry counts the events; GET /metrics exposes them; bad beacons get 400/413."""
    async with portal_client(create_app(distribution(), tmp_path)) as client:
        events = [{"ev": "startup", "ms": 400}, {"ev": "rebuffer", "ms": 2000}]
        beacon = {"sid": "s1", "cid": "c1", "st": "v", "pop": "iad", "events": events}
        assert (await client.post("/api/telemetry", json=beacon)).status_code == 204
        bad = await client.post("/api/telemetry", json={**beacon, "pop": "nowhere"})
        huge = await client.post("/api/telemetry", content=b"[" * 70_000)
        metrics = (await client.get("/metrics")).text
    assert bad.status_code == 400 and "unknown POP" in bad.json()["detail"]
    assert huge.status_code == 413
    assert 'player_sessions_total{pop="iad",stream="vod"} 1.0' in metrics
    assert 'player_rebuffer_seconds_total{pop="iad",stream="vod"} 2.0' in metrics
