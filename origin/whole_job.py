"""Packaging a video in one ffmpeg process: the job code's `whole` task (origin.tasks).

One process encodes every rung with the audio muxed in, writes the poster and the sprite from
its one decode, and can write fMP4 (with a DASH manifest), startup segments and AES-128 fMP4,
which the chunked path does not. The embedded default packages every upload this way, and a
queue engine's workers do for uploads the chunked path cannot make.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from media import packager
from media.packager import AesKey
from media.probe import MediaInfo
from streaming.config import DEFAULT_LADDER, LadderRung
from streaming.hls import Container

# package(source, out_dir, info, on_progress, encryption, container) -> anything; tests may
# pass a fake.
PackageFn = Callable[
    [Path, Path, MediaInfo, Callable[[float], None], AesKey | None, Container], Awaitable[object]
]


def key_uri(video_id: str) -> str:
    """Where players fetch a video's AES-128 key (served by the origin, private, no-store)."""
    return f"/drm/{video_id}/key"


def packs_whole(chunked: bool, container: str) -> bool:
    """Whether a job is one `whole` task: the origin does not chunk, or the chunked path cannot
    make the container (it writes TS only)."""
    return not chunked or Container(container) is not Container.TS


def ffmpeg_packager(
    binary: str, segment_duration: float, ladder: tuple[LadderRung, ...] = DEFAULT_LADDER
) -> PackageFn:
    """The real packaging step: one ffmpeg process per job."""

    async def run(
        source: Path, out_dir: Path, info: MediaInfo, progress: Callable[[float], None],
        encryption: AesKey | None, container: Container,
    ) -> object:  # fmt: skip
        return await packager.package(
            binary, source, out_dir, info, segment_duration, progress, encryption, ladder,
            container,
        )  # fmt: skip

    return run
