"""ffmpeg arguments for an LL-HLS channel: one real-time encode per rung, fragmented MP4 to a pipe.

ffmpeg has no LL-HLS muxer, so it writes `ftyp`+`moov` and then a fragment about every half
frame (`-frag_duration`: a fragment is flushed when the next packet arrives, so every sample's
duration is known); `media.ll_channel` groups those fragments into parts on frame boundaries
it computes itself, the same on every origin whatever the audio packets' phase.
"""

from __future__ import annotations

from dataclasses import dataclass

from media.commands import live_aac, live_inputs, live_scaler, live_x264
from media.ladder import Rung

MOVFLAGS = "empty_moov+default_base_moof+frag_keyframe+skip_trailer"


@dataclass(frozen=True, slots=True)
class LLJob:
    """Everything an LL channel's argv depends on (the pipes' fds are given separately)."""

    source: str  # "testsrc" or a file, looped
    has_audio: bool
    rungs: tuple[Rung, ...]
    segment_duration: int
    frame_rate: int
    epoch_start: int  # wall-clock second of the first frame, a multiple of segment_duration
    preset: str = "superfast"


def frag_duration_us(frame_rate: int) -> int:
    """Half a frame: every video frame starts a fragment of its own."""
    return 500_000 // frame_rate


def ll_live(job: LLJob, fds: tuple[int, ...]) -> list[str]:
    """Arguments for one real-time ffmpeg writing rung i as fragmented MP4 to `pipe:<fds[i]>`.

    Keyframes fall on every multiple of the segment duration of the run's own clock, which starts
    at a segment boundary, so segment N always begins with a keyframe at wall-clock N*d.
    `-tune zerolatency` drops B-frames and lookahead: a part leaves the encoder a frame after
    its last picture went in.
    """
    seg, rate = job.segment_duration, job.frame_rate
    tallest = job.rungs[0].height
    argv = ["-hide_banner", "-nostdin", "-loglevel", "error"]
    inputs, audio = live_inputs(job.source, tallest, rate)
    argv += inputs + live_scaler(job.rungs, rate)
    for i, (rung, fd) in enumerate(zip(job.rungs, fds, strict=True)):
        argv += ["-map", f"[v{i}]"]
        if job.has_audio:
            argv += ["-map", audio, *live_aac(rung.audio_kbps)]
        argv += live_x264(rung, job.preset, seg, rate, tune=("-tune", "zerolatency"))
        argv += [
            # Else the AAC priming delay stretches the first frame and every later video
            # timestamp of a run shifts by 1024 samples: runs started at other boundaries
            # (other origins) would disagree by 21 ms.
            "-avoid_negative_ts", "disabled",
            "-f", "mp4", "-movflags", MOVFLAGS,
            "-frag_duration", str(frag_duration_us(rate)),
            f"pipe:{fd}",
        ]  # fmt: skip
    return argv
