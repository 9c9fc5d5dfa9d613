"""The library merges what every regional origin reports, and survives a dead origin."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from portal.catalog import Catalog
from streaming.errors import InvalidPath, NotFound, Unavailable
from tests.factories import TOKEN, distribution

pytestmark = pytest.mark.anyio
DIST = distribution(regions=("us-east", "eu-west"))
US, EU = (o.url for o in DIST.origins)
READY = {"id": "vaaaaaaaaaaaaaaaa", "state": "ready", "progress": 1.0, "error": None,
         "filename": "a.mp4", "created": 2.0, "master_path": "/hls/vaaaaaaaaaaaaaaaa/master.m3u8",
         "poster_path": "/hls/vaaaaaaaaaaaaaaaa/poster.jpg"}  # fmt: skip
PACKAGING = {"id": "vbbbbbbbbbbbbbbbb", "state": "packaging", "progress": 0.4, "error": None,
             "filename": "b.mp4", "created": 3.0,
             "master_path": "/hls/vbbbbbbbbbbbbbbbb/master.m3u8"}  # fmt: skip

Handler = Callable[[httpx.Request], httpx.Response]


def origins(us: Handler, eu: Handler) -> Catalog:
    def route(request: httpx.Request) -> httpx.Response:
        return us(request) if str(request.url).startswith(US) else eu(request)

    return Catalog(DIST, httpx.AsyncClient(transport=httpx.MockTransport(route)))


def dead(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def listing(*jobs: dict[str, object], master: int = 200) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/videos":
            return httpx.Response(200, json={"videos": list(jobs)})
        if path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        for job in jobs:
            if path == f"/videos/{job['id']}":
                return httpx.Response(200, json=job)
            if path == job["master_path"]:
                return httpx.Response(master)
        return httpx.Response(404, json={"error": "not_found", "detail": "no"})

    return handle


async def test_videos_are_merged_across_regions_newest_first() -> None:
    """One entry per video with its state in each region; the most advanced state wins."""
    catalog = origins(listing(READY, PACKAGING), listing(READY))
    videos = await catalog.videos()
    assert [v["id"] for v in videos] == [PACKAGING["id"], READY["id"]]
    assert videos[1]["regions"] == {"us-east": "ready", "eu-west": "ready"}
    assert videos[1]["poster_path"] == READY["poster_path"]
    assert videos[0]["regions"] == {"us-east": "packaging"} and videos[0]["progress"] == 0.4


async def test_a_dead_origin_only_hides_its_own_view() -> None:
    """The library still answers when a region is down; the other region's videos are listed."""
    videos = await origins(dead, listing(READY)).videos()
    assert [(v["id"], v["regions"]) for v in videos] == [(READY["id"], {"eu-west": "ready"})]


async def test_a_packaging_video_is_playable_once_its_master_exists() -> None:
    """Progressive playback starts when the origin serves the provisional master playlist."""
    assert (await origins(listing(PACKAGING, master=404), dead).video(PACKAGING["id"]))[
        "playable"
    ] is False
    video = await origins(listing(PACKAGING, master=200), dead).video(PACKAGING["id"])
    assert video["playable"] is True and video["state"] == "packaging"


async def test_unknown_and_malformed_ids() -> None:
    """An id no region knows is a 404; a malformed one never reaches an origin (400)."""
    catalog = origins(listing(READY), listing())
    with pytest.raises(NotFound):
        await catalog.video("vcccccccccccccccc")
    with pytest.raises(InvalidPath):
        await catalog.video("../etc/passwd")


async def test_uploads_go_to_the_first_healthy_origin() -> None:
    """Config order decides; a dead primary moves uploads to the next region; none: 503."""
    assert (await origins(listing(), listing()).upload_target()).region == "us-east"
    assert (await origins(dead, listing()).upload_target()).region == "eu-west"
    with pytest.raises(Unavailable):
        await origins(dead, dead).upload_target()


def admin_only(handler: Handler) -> Handler:
    """An origin whose job API and files answer only the distribution's admin token."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"error": "unauthorized", "detail": "token"})
        return handler(request)

    return handle


async def test_the_origins_are_asked_with_the_admin_token() -> None:
    """The job API is not public: the list, one video and its master are asked with the token."""
    catalog = origins(admin_only(listing(READY, PACKAGING)), admin_only(listing()))
    assert [v["id"] for v in await catalog.videos()] == [PACKAGING["id"], READY["id"]]
    assert (await catalog.video(str(PACKAGING["id"])))["playable"] is True
