"""Uploads as fMP4 (CMAF): the container choice per upload and per distribution, the 400s for
what cannot be packaged, and the master + manifest.mpd served with their content types."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import m3u8
import pytest

from tests.helpers import AUTH
from tests.origin.conftest import OriginFactory
from tests.origin.test_routes import settle, upload

pytestmark = pytest.mark.anyio
MPD = "{urn:mpeg:dash:schema:mpd:2011}"


async def test_upload_with_container_fmp4_serves_the_master_and_the_mpd_over_the_same_files(
    origin_app: OriginFactory, clip: Path
) -> None:
    """?container=fmp4 → ready; master (EXT-X-MAP playlists) and manifest.mpd served with their
    types; every init/media URL of the MPD is served with the fMP4 content types."""
    async with origin_app() as o:
        accepted = await upload(o, clip, "?container=fmp4")
        assert accepted.status_code == 202
        status = await settle(o, accepted.json()["id"], timeout=60)
        assert status["state"] == "ready" and status["container"] == "fmp4"
        base = f"/hls/{status['id']}"
        assert status["mpd_path"] == f"{base}/manifest.mpd"
        master = await o.client.get(f"{base}/master.m3u8")
        assert master.status_code == 200 and "#EXT-X-VERSION:7" in master.text
        variant = m3u8.loads(master.text).playlists[0].uri
        media = await o.client.get(f"{base}/{variant}")
        assert '#EXT-X-MAP:URI="init_' in media.text
        mpd = await o.client.get(f"{base}/manifest.mpd")
        assert mpd.status_code == 200
        assert mpd.headers["content-type"] == "application/dash+xml"
        assert mpd.headers["cache-control"] == "public, max-age=86400"
        root = ET.fromstring(mpd.content)
        assert root.get("type") == "static"
        for template in root.iter(f"{MPD}SegmentTemplate"):
            init = await o.client.get(f"{base}/{template.get('initialization')}")
            assert init.status_code == 200 and init.headers["content-type"] == "video/mp4"
            first = template.get("media", "").replace("$Number%05d$", "00000")
            segment = await o.client.get(f"{base}/{first}")
            assert segment.status_code == 200
            assert segment.headers["content-type"] == "video/iso.segment"
            assert segment.headers["cache-control"].endswith("immutable")


async def test_the_distribution_default_container_applies_when_an_upload_does_not_ask(
    origin_app: OriginFactory, clip: Path
) -> None:
    """origin.container = "fmp4" packages fMP4; ?container=ts still gets TS and no MPD."""
    async with origin_app(origin={"segment_duration": 2.0, "container": "fmp4"}) as o:
        default = await settle(o, (await upload(o, clip)).json()["id"], timeout=60)
        assert default["container"] == "fmp4" and "mpd_path" in default
        ts = await settle(o, (await upload(o, clip, "?container=ts")).json()["id"], timeout=60)
        assert ts["container"] == "ts" and "mpd_path" not in ts
        missing = await o.client.get(f"/hls/{ts['id']}/manifest.mpd")
        assert missing.status_code == 404


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("?container=mkv", "container must be one of ts, fmp4"),
        ("?container=fmp4&encryption=sample-aes", "SAMPLE-AES needs a packager"),
        ("?encryption=cbcs", "cenc-aes-ctr"),
        ("?encryption=rot13", "encryption must be one of none, aes-128"),
    ],
)
async def test_unknown_or_unpackageable_choices_are_refused_with_a_400_that_says_why(
    origin_app: OriginFactory, clip: Path, query: str, reason: str
) -> None:
    """Refused before the body is stored: nothing is queued."""
    async with origin_app() as o:
        refused = await upload(o, clip, query)
        assert refused.status_code == 400
        assert reason in refused.json()["detail"]
        listed = (await o.client.get("/videos", headers=AUTH)).json()
        assert listed["videos"] == []


async def test_fmp4_with_aes_128_is_encrypted_keyed_and_has_no_mpd(
    origin_app: OriginFactory, clip: Path
) -> None:
    """?container=fmp4&encryption=aes-128 → ready; playlists name /drm/{id}/key, the key is
    served no-store, init and .m4s are served, there is no manifest.mpd (nor an mpd_path)."""
    async with origin_app() as o:
        status = await settle(
            o, (await upload(o, clip, "?container=fmp4&encryption=aes-128")).json()["id"], 60
        )
        assert status["state"] == "ready" and "mpd_path" not in status
        base = f"/hls/{status['id']}"
        master = m3u8.loads((await o.client.get(f"{base}/master.m3u8")).text)
        variant = master.playlists[0].uri
        media = m3u8.loads((await o.client.get(f"{base}/{variant}")).text)
        assert media.keys[-1].uri == f"/drm/{status['id']}/key"
        key = await o.client.get(media.keys[-1].uri)
        assert len(key.content) == 16 and key.headers["cache-control"] == "private, no-store"
        folder = variant.rsplit("/", 1)[0]
        for uri in (media.segment_map[0].uri, media.segments[0].uri):
            assert (await o.client.get(f"{base}/{folder}/{uri}")).status_code == 200
        assert (await o.client.get(f"{base}/manifest.mpd")).status_code == 404


def test_a_replica_region_serves_the_same_mpd_and_segments_and_knows_the_container(
    tmp_path: Path, clip: Path
) -> None:
    """Replicated to eu-west (real processes), the MPD and every init/media file it names are
    byte-identical, and eu-west's job record says fmp4 with the mpd_path."""
    import httpx

    from tests.factories import distribution_doc
    from tests.helpers import wait_state
    from tests.origin.conftest import origin_processes

    doc = distribution_doc(regions=("us-east", "eu-west"), origin={"segment_duration": 2.0})
    with origin_processes(tmp_path, doc):
        east, west = doc["origins"][0]["url"], doc["origins"][1]["url"]
        with clip.open("rb") as fh:
            response = httpx.post(
                f"{east}/videos?container=fmp4", files={"file": ("c.mp4", fh)}, headers=AUTH
            )
        video_id = response.json()["id"]
        assert wait_state(east, video_id)["state"] == "ready"
        replica = wait_state(west, video_id)
        assert replica["container"] == "fmp4" and replica["mpd_path"]
        base = f"/hls/{video_id}"
        mpd = httpx.get(f"{east}{base}/manifest.mpd")
        paths = [f"{base}/manifest.mpd"]
        for template in ET.fromstring(mpd.content).iter(f"{MPD}SegmentTemplate"):
            paths.append(f"{base}/{template.get('initialization')}")
            paths.append(f"{base}/" + template.get("media", "").replace("$Number%05d$", "00000"))
        for path in paths:
            a, b = httpx.get(east + path), httpx.get(west + path)
            assert a.status_code == b.status_code == 200, path
            assert a.content == b.content, path
