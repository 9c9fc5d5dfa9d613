"""What an origin holds, as its peers compare it: a digest per ready video, and its tombstones.

`digest` reads a video's manifest set through the store; `plan` decides, from two inventories
alone, what a peer is owed. Every origin runs the same plan against every peer, so the rule is
symmetric: whoever holds a ready copy pushes it to a peer that lacks it (unless the peer deleted
it), only the origin that packaged a video corrects a copy that differs, and whoever holds a
tombstone deletes it from every peer still holding the video.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from media.packager import KEY_FILE
from origin.outbox import Action
from origin.store import MANIFEST_NAME, Store
from streaming import paths
from streaming.errors import InvalidPath

_READ_WHOLE = (".m3u8", ".vtt")  # the manifests; segments and images count by name only


async def digest(store: Store, video_id: str) -> str:
    """SHA-256 over every file name of a video and the bytes of its playlists, manifest, WebVTT
    and key: two regions agree on it exactly when they serve the same packaging."""
    summary = hashlib.sha256()
    for relpath in sorted(await store.files(video_id)):
        summary.update(relpath.encode() + b"\n")
        if relpath in (MANIFEST_NAME, KEY_FILE) or relpath.endswith(_READ_WHOLE):
            size = (await store.stat(video_id, relpath)).size
            body = b"".join([c async for c in store.read(video_id, relpath, 0, size - 1)])
            summary.update(hashlib.sha256(body).digest())
    return summary.hexdigest()


@dataclass(frozen=True, slots=True)
class Inventory:
    """Ready videos (id to digest) and deleted ids, as `GET /replicas` lists them."""

    videos: Mapping[str, str]
    tombstones: frozenset[str]

    def public(self) -> dict[str, object]:
        return {"videos": dict(self.videos), "tombstones": sorted(self.tombstones)}

    @classmethod
    def parse(cls, data: object) -> Inventory:
        """A peer's answer, checked: ValueError when it is not one."""
        if not isinstance(data, dict):
            raise ValueError("an inventory is a JSON object")
        videos, tombstones = data.get("videos"), data.get("tombstones")
        if not isinstance(videos, dict) or not isinstance(tombstones, list):
            raise ValueError("an inventory has 'videos' (an object) and 'tombstones' (a list)")
        for video_id, value in videos.items():
            if not isinstance(value, str):
                raise ValueError(f"the digest of {video_id!r} is not a string")
        listed = [*videos, *tombstones]
        try:
            ids = [paths.video_id(i) if isinstance(i, str) else None for i in listed]
        except InvalidPath as exc:
            raise ValueError(exc.detail) from None
        if None in ids:
            raise ValueError("an inventory lists video ids only")
        return cls(dict(videos), frozenset(tombstones))


def plan(
    mine: Inventory, packaged_here: frozenset[str], theirs: Inventory, copies: bool
) -> list[tuple[str, Action]]:
    """What the peer behind `theirs` is owed. `copies`: whether videos are sent at all (not when
    every region reads one bucket); `packaged_here`: the videos this origin packaged."""
    owed: list[tuple[str, Action]] = []
    if copies:
        for video_id, ours in mine.videos.items():
            if video_id in theirs.tombstones or video_id in mine.tombstones:
                continue  # deleted: the delete wins, whoever still holds a copy
            held = theirs.videos.get(video_id)
            if held is None or (held != ours and video_id in packaged_here):
                owed.append((video_id, Action.PUBLISH))
    owed += [(v, Action.DELETE) for v in sorted(mine.tombstones & theirs.videos.keys())]
    return owed
