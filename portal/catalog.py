"""The library: videos as the regional origins list them, merged into one view per video.

Each origin is asked concurrently with a short timeout, so a dead or paused origin costs at most
that timeout and the library still shows what the other regions have. The origins' job API is
not public: the portal asks with the distribution's admin token.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from streaming import paths
from streaming.config import Distribution, Origin
from streaming.errors import NotFound, Unavailable

ORIGIN_TIMEOUT = httpx.Timeout(1.5, connect=0.5)
# The overall state of a video is the most advanced state any region reports.
_RANK = {"failed": 0, "queued": 1, "packaging": 2, "replicating": 3, "ready": 4}


class Catalog:
    """Reads video lists and job states from every regional origin."""

    def __init__(self, dist: Distribution, client: httpx.AsyncClient) -> None:
        self.origins, self.client = dist.origins, client
        self._auth = {"authorization": f"Bearer {dist.admin_token.reveal()}"}

    async def _get(self, origin: Origin, path: str) -> Any | None:
        """JSON from one origin, or None when it is down, slow or answers 404."""
        try:
            response = await self.client.get(
                origin.url + path, headers=self._auth, timeout=ORIGIN_TIMEOUT
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return response.json()

    async def videos(self) -> list[dict[str, Any]]:
        """Every video any region knows, newest first, with its state in each region."""
        answers = await asyncio.gather(*(self._get(o, "/videos") for o in self.origins))
        merged: dict[str, dict[str, Any]] = {}
        for origin, answer in zip(self.origins, answers, strict=True):
            for job in (answer or {}).get("videos", []):
                _merge(merged, origin, job)
        return sorted(merged.values(), key=lambda v: v.get("created", 0), reverse=True)

    async def video(self, video_id: str) -> dict[str, Any]:
        """One video's merged state, plus whether its master playlist can be played yet."""
        path = f"/videos/{paths.video_id(video_id)}"
        answers = await asyncio.gather(*(self._get(o, path) for o in self.origins))
        merged: dict[str, dict[str, Any]] = {}
        for origin, job in zip(self.origins, answers, strict=True):
            if job is not None:
                _merge(merged, origin, job)
        if video_id not in merged:
            raise NotFound(f"no video {video_id} in any region")
        video = merged[video_id]
        video["playable"] = await self._master_exists(video)
        return video

    async def _master_exists(self, video: dict[str, Any]) -> bool:
        """A packaging video is progressively playable once its (provisional) master exists."""
        if video["state"] == "ready":
            return True
        for origin in self.origins:
            if video["regions"].get(origin.region) in ("packaging", "ready"):
                try:
                    head = await self.client.head(
                        origin.url + video["master_path"], headers=self._auth,
                        timeout=ORIGIN_TIMEOUT,
                    )  # fmt: skip
                except httpx.HTTPError:
                    continue
                if head.status_code == 200:
                    return True
        return False

    async def upload_target(self) -> Origin:
        """The first origin in config order that answers its health check."""
        for origin in self.origins:
            try:
                health = await self.client.get(f"{origin.url}/healthz", timeout=ORIGIN_TIMEOUT)
            except httpx.HTTPError:
                continue
            if health.status_code == 200:
                return origin
        raise Unavailable("no origin is reachable to take the upload")


def _merge(merged: dict[str, dict[str, Any]], origin: Origin, job: dict[str, Any]) -> None:
    state = str(job.get("state", "queued"))
    video = merged.setdefault(
        job["id"],
        {"id": job["id"], "filename": job.get("filename", ""), "created": job.get("created", 0),
         "master_path": job.get("master_path", f"/hls/{job['id']}/master.m3u8"),
         "state": state, "progress": job.get("progress", 0.0), "error": job.get("error"),
         "regions": {}},
    )  # fmt: skip
    video["regions"][origin.region] = state
    for key in ("poster_path", "thumbnails_path"):
        if job.get(key):
            video[key] = job[key]
    if _RANK.get(state, 0) > _RANK.get(video["state"], 0):
        video.update(state=state, progress=job.get("progress", 0.0), error=job.get("error"))
