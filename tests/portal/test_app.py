"""The portal serves its pages, hls.js from npm's install, its config API and Prometheus metrics."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from cli.portal import hls_dist
from portal.app import create_app
from portal.telemetry import MAX_BEACON_BYTES
from procs.supervisor import Supervisor, cli_argv
from streaming.errors import ConfigError
from tests.factories import TOKEN, distribution, distribution_doc, write_config
from tests.limits import Untouched, chunks, declared_only
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
    monkeypatch.setattr("cli.portal.HLS_DIST", tmp_path)
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
    assert config["live"] == [
        {"channel": "news", "path": "/live/news/master.m3u8", "low_latency": False}
    ]
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


async def test_telemetry_bodies_are_bounded_and_malformed_ones_are_400(tmp_path: Path) -> None:
    """A public endpoint: 413 by Content-Length and for a chunked body that runs over, 400 with
    a reason for garbage, and the collector keeps counting afterwards."""
    beacon = {"sid": "s1", "cid": "c1", "st": "v", "pop": "iad",
              "events": [{"ev": "startup", "ms": 400}]}  # fmt: skip
    async with portal_client(create_app(distribution(), tmp_path)) as client:
        declared = await client.post("/api/telemetry", content=b" " * (MAX_BEACON_BYTES + 1))
        chunked = await client.post(
            "/api/telemetry", content=Untouched(b" " * (MAX_BEACON_BYTES + 1))
        )
        garbage = await client.post("/api/telemetry", content=b"\xff\xfe{")
        ok = await client.post("/api/telemetry", json=beacon)
    assert declared.status_code == chunked.status_code == 413
    assert f"limit of {MAX_BEACON_BYTES} bytes" in declared.json()["detail"]
    assert garbage.status_code == 400 and "invalid beacon" in garbage.json()["detail"]
    assert ok.status_code == 204


def test_a_running_portal_refuses_oversized_bodies_and_keeps_serving(tmp_path: Path) -> None:
    """A real server: a declared oversized beacon or upload is refused before its body is sent
    (an upload without the token with 401 first), a chunked one once it runs over; then work."""
    doc = distribution_doc()
    config = write_config(tmp_path / "distribution.toml", doc)
    base = f"http://127.0.0.1:{doc['portal']['port']}"
    auth = {"authorization": f"Bearer {TOKEN}"}
    with Supervisor(tmp_path / "logs") as supervisor:
        argv = cli_argv("portal", "--config", str(config))
        supervisor.wait_healthy(supervisor.start("portal", argv, f"{base}/healthz"))
        assert declared_only(base, "/api/telemetry", 10**9)[0] == 413
        assert declared_only(base, "/api/videos", 10**12)[0] == 401
        status, body = declared_only(base, "/api/videos", 10**12, auth)
        assert (status, body["error"]) == (413, "payload_too_large")
        chunked = httpx.post(f"{base}/api/telemetry", content=chunks(1024 * 1024), timeout=10)
        assert chunked.status_code == 413
        beacon = {"sid": "s1", "cid": "c1", "st": "v", "pop": "iad",
                  "events": [{"ev": "startup", "ms": 400}]}  # fmt: skip
        assert httpx.post(f"{base}/api/telemetry", json=beacon).status_code == 204
        assert "player_sessions_total" in httpx.get(f"{base}/metrics").text
