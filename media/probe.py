"""Probe an input with PyAV (no ffprobe needed) and reject what is not a usable video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from streaming.errors import UnsupportedMedia

IMAGE_CODECS = {"png", "mjpeg", "webp", "bmp", "gif", "tiff", "jpegxl", "jpeg2000"}
# ffmpeg "decodes" plain text as ANSI art (the tty demuxer): a text file is not a video.
TEXT_CODECS = {"ansi", "bintext", "xbin", "idf"}
# libavcodec's AVFieldOrder, named as ffprobe prints it.
FIELD_ORDERS = {0: "unknown", 1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}
INTERLACED = frozenset({"tt", "bb", "tb", "bt"})


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What packaging needs to know about an input."""

    width: int
    height: int
    duration: float
    frame_rate: float
    has_audio: bool
    video_codec: str
    pix_fmt: str
    rotation: int
    audio_channels: int = 2
    field_order: str = "progressive"  # as ffprobe prints it: progressive, tt, bb, tb, bt
    sample_aspect: float = 1.0  # pixel width / height (anamorphic SD is 16:15, 64:45, ...)

    @property
    def display_height(self) -> int:
        """Height as shown: after rotation (ffmpeg autorotates on decode) and pixel aspect."""
        return self._square_width if self.rotation % 180 else self.height

    @property
    def display_width(self) -> int:
        return self.height if self.rotation % 180 else self._square_width

    @property
    def _square_width(self) -> int:
        return max(2, round(self.width * self.sample_aspect))

    @property
    def interlaced(self) -> bool:
        """The stream says it is interlaced (field order tt, bb, tb or bt)."""
        return self.field_order in INTERLACED


def probe(path: Path) -> MediaInfo:
    """Open `path` and describe its first video stream, or raise UnsupportedMedia."""
    if not path.exists() or path.stat().st_size == 0:
        raise UnsupportedMedia("the upload is empty")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            video = container.streams.video[0] if container.streams.video else None
            if video is None or not video.codec_context.width:
                raise UnsupportedMedia("no video stream found in the upload")
            if video.codec_context.name in TEXT_CODECS:
                raise UnsupportedMedia("the upload is a text file, not a video")
            # Still images demux as a one-frame video; a real video has a duration.
            duration = _duration(container, video)
            if video.codec_context.name in IMAGE_CODECS and (duration is None or duration < 0.5):
                raise UnsupportedMedia("the upload is an image, not a video")
            if duration is None or duration <= 0:
                raise UnsupportedMedia("the upload has no measurable duration")
            rate = video.average_rate or video.guessed_rate or 25
            rotation = _first_frame(container, video)
            audio = container.streams.audio[0].codec_context if container.streams.audio else None
            aspect = video.codec_context.sample_aspect_ratio
            return MediaInfo(
                width=video.codec_context.width,
                height=video.codec_context.height,
                duration=duration,
                frame_rate=min(60.0, float(rate)) if float(rate) > 0 else 25.0,
                has_audio=bool(container.streams.audio),
                video_codec=video.codec_context.name,
                pix_fmt=video.codec_context.format.name if video.codec_context.format else "",
                rotation=rotation,
                audio_channels=audio.channels if audio is not None else 0,
                field_order=_field_order(video.codec_context.field_order),
                sample_aspect=float(aspect) if aspect and aspect > 0 else 1.0,
            )
    except UnsupportedMedia:
        raise
    except (av.FFmpegError, ValueError, OSError, StopIteration) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise UnsupportedMedia(f"not a readable video ({reason})") from None


def _field_order(value: object) -> str:
    return FIELD_ORDERS.get(value, "unknown") if isinstance(value, int) else str(value or "unknown")


def _duration(
    container: av.container.InputContainer, video: av.video.stream.VideoStream
) -> float | None:
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _first_frame(container: av.container.InputContainer, video: av.video.stream.VideoStream) -> int:
    """Decode one frame so a truncated or corrupt file fails here; return its display rotation."""
    for frame in container.decode(video):
        return int(round(frame.rotation)) % 360
    raise UnsupportedMedia("the video stream has no decodable frame")
