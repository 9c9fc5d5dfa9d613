"""Chunked packaging benchmark: the issue's goals, run by `python -m bench.packaging --chunked`.

    python -m bench.packaging --chunked [--seconds 300] [--height 1080] [--runs 2] [--chunks 2]

One generated source (lavfi pattern + tone), then `--runs` interleaved rounds of
1. the single-process ladder: the bare ffmpeg argv `media.commands.package` builds (the same
   ladder, stereo muxed into every rung; no poster/sprite, which the chunked path does not make);
2. chunked, one worker: the audio, then each of `--chunks` chunks, then the final stitch, one
   after another, each step timed on its own (a step's wall time is what it takes on one worker
   machine like this one, so the critical path with W = `--chunks` workers is the audio or the
   longest chunk, whichever is longer, plus the stitch);
3. chunked, two workers: `media.chunks.package_chunked(parallel=2)`, two ffmpeg at once.
CPU seconds are this process's plus its reaped children's (ffmpeg).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench import doc
from bench.packaging import SEGMENT, bare, cpu_seconds, ffmpeg_version
from media import chunks
from media.ladder import ladder_for
from media.probe import MediaInfo
from media.runner import ffmpeg_binary

HEADING = "## Chunked packaging"


@dataclass(frozen=True)
class Step:
    wall: float
    cpu: float


@dataclass(frozen=True)
class Round:
    single: Step
    audio: Step
    chunks: tuple[Step, ...]
    stitch: Step
    two_workers: Step
    thumbnails: Step

    @property
    def chunked_cpu(self) -> float:
        return self.audio.cpu + sum(c.cpu for c in self.chunks) + self.stitch.cpu

    @property
    def one_worker(self) -> float:
        return self.audio.wall + sum(c.wall for c in self.chunks) + self.stitch.wall

    @property
    def critical_path(self) -> float:
        return max(self.audio.wall, *(c.wall for c in self.chunks)) + self.stitch.wall

    @property
    def critical_cpu(self) -> float:
        """The critical path in CPU seconds: what it would be if every step ran on an idle
        machine of its own at the single process's CPU-to-wall ratio (the load-proof proxy)."""
        return max(self.audio.cpu, *(c.cpu for c in self.chunks)) + self.stitch.cpu


def _now() -> tuple[float, float]:
    return cpu_seconds(), time.perf_counter()


def _timed(cpu: float, started: float) -> Step:
    return Step(time.perf_counter() - started, cpu_seconds() - cpu)


def single(binary: str, source: Path, info: MediaInfo, out: Path) -> Step:
    """The whole ladder in one ffmpeg process, as packaging runs today (no thumbnails)."""
    wall, cpu = bare(binary, source, info, out, thumbnails=False)
    return Step(wall, cpu)


def chunk_seconds(info: MediaInfo, count: int) -> float:
    """Whole segments per chunk so the plan has `count` chunks (the last one shorter)."""
    return math.ceil(info.duration / count / SEGMENT) * SEGMENT


def one_worker(
    binary: str, source: Path, info: MediaInfo, out: Path, count: int
) -> tuple[Step, tuple[Step, ...], Step, Step]:
    """(audio, each chunk, final stitch, thumbnails), one after another, each timed alone."""
    rungs = ladder_for(info.display_height)
    plan = chunks.plan(info, SEGMENT, chunk_seconds(info, count))
    cpu, started = _now()
    audio_result = asyncio.run(chunks.encode_audio(binary, source, info, SEGMENT, out))
    audio = _timed(cpu, started)
    steps, results = [], []
    for chunk in plan:
        cpu, started = _now()
        results.append(
            asyncio.run(chunks.encode_video_chunk(binary, source, info, chunk, rungs, SEGMENT, out))
        )
        steps.append(_timed(cpu, started))
    cpu, started = _now()
    chunks.stitch(results, audio_result, out, final=True)
    stitch = _timed(cpu, started)
    cpu, started = _now()
    asyncio.run(chunks.encode_thumbnails(binary, source, info, out))
    return audio, tuple(steps), stitch, _timed(cpu, started)


def two_workers(binary: str, source: Path, info: MediaInfo, out: Path, count: int) -> Step:
    cpu, started = _now()
    asyncio.run(
        chunks.package_chunked(
            binary, source, out, info, SEGMENT, chunk_seconds=chunk_seconds(info, count),
            parallel=2, with_thumbnails=False,
        )
    )  # fmt: skip
    return _timed(cpu, started)


def measure(
    binary: str, clip: Path, info: MediaInfo, work: Path, args: argparse.Namespace
) -> list[Round]:
    rounds = []
    for run in range(args.runs):
        out = work / f"run-{run}"
        s = single(binary, clip, info, out / "single")
        print(
            f"  run {run + 1} single process  {s.wall:7.1f} s wall {s.cpu:7.1f} s CPU", flush=True
        )
        audio, steps, stitch, pictures = one_worker(binary, clip, info, out / "one", args.chunks)
        walls = " + ".join(f"{c.wall:.1f}" for c in steps)
        print(f"  run {run + 1} chunked, 1 worker  audio {audio.wall:.1f} + {walls} + stitch "
              f"{stitch.wall:.3f} s", flush=True)  # fmt: skip
        two = two_workers(binary, clip, info, out / "two", args.chunks)
        print(
            f"  run {run + 1} chunked, 2 workers {two.wall:7.1f} s wall {two.cpu:7.1f} s CPU",
            flush=True,
        )
        rounds.append(Round(s, audio, steps, stitch, two, pictures))
        shutil.rmtree(out)
    return rounds


def _spread(values: list[float], digits: int = 1) -> str:
    """min / median / max."""
    return " / ".join(
        f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values))
    )


def section(
    args: argparse.Namespace, info: MediaInfo, rounds: list[Round], load: tuple[float, ...]
) -> str:
    single_wall = [r.single.wall for r in rounds]
    single_cpu = [r.single.cpu for r in rounds]
    chunked_cpu = [r.chunked_cpu for r in rounds]
    overhead = [(r.chunked_cpu / r.single.cpu - 1) * 100 for r in rounds]
    w = args.chunks
    critical = [r.critical_path for r in rounds]
    ratio = [r.critical_path / (r.single.wall / w) for r in rounds]
    one = [r.one_worker for r in rounds]
    own = [r.critical_path / (r.one_worker / w) for r in rounds]
    two = [r.two_workers.wall for r in rounds]
    longest = [max(c.wall for c in r.chunks) for r in rounds]
    longest_cpu = [max(c.cpu for c in r.chunks) for r in rounds]
    cpu_ratio = [r.critical_cpu / (r.single.cpu / w) for r in rounds]
    stitch = [r.stitch.wall * 1000 for r in rounds]
    audio = [r.audio.wall for r in rounds]
    pictures = [r.thumbnails.cpu for r in rounds]
    rungs = ", ".join(r.name for r in ladder_for(info.display_height))
    ffmpeg = ffmpeg_version()
    cmd = (f"python -m bench.packaging --chunked --seconds {args.seconds:g} --height {args.height} "
           f"--runs {args.runs} --chunks {w}")  # fmt: skip
    return f"""{HEADING}

Measured by

    {cmd}

on {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, {os.cpu_count()} cores shared with \
other work: load average {load[0]:.1f} before and {os.getloadavg()[0]:.1f} after the run (1 minute).
Wall times on a loaded machine are noisy; CPU seconds are the steadier figure. {ffmpeg}.

Source: a generated {args.seconds:g} s {info.width}x{info.height} clip at {info.frame_rate:g} \
fps with stereo AAC. Ladder {rungs}; {SEGMENT:g} s segments; x264 `veryfast`. Chunked: {w} \
chunks of {chunk_seconds(info, w):g} s, audio encoded once as its own stereo rendition. Figures \
are min / median / max over {len(rounds)} interleaved rounds.

| figure | seconds |
| --- | --- |
| single-process ladder, wall | {_spread(single_wall)} |
| single-process ladder, CPU | {_spread(single_cpu)} |
| chunked, total CPU (audio + chunks + stitch) | {_spread(chunked_cpu)} |
| chunked, 1 worker, wall (audio + chunks + stitch in turn) | {_spread(one)} |
| chunked, 2 workers on this machine, wall | {_spread(two)} |
| audio (whole source, once), wall | {_spread(audio)} |
| longest chunk, wall | {_spread(longest)} |
| longest chunk, CPU | {_spread(longest_cpu)} |
| thumbnails task (poster + sprite; in no other figure), CPU | {_spread(pictures)} |
| stitch (all playlists + master), milliseconds | {_spread(stitch, 2)} |
| critical path with {w} workers (audio or longest chunk, + stitch) | {_spread(critical)} |

- Chunking overhead, total CPU against the single-process ladder: **{_spread(overhead)} %**
  (goal ≤ 10 %). What chunking costs (each chunk's seek pre-roll, x264 starting cold, one more
  process per chunk) is partly paid back: the single process muxes the stereo AAC into every
  rung, so it encodes the audio once per rung, where a chunked job encodes it once.
- Critical path with W = {w} workers against the whole / W: **{_spread(ratio, 2)}** (goal
  ≤ 1.10); against the chunked job's own one-worker wall / W: {_spread(own, 2)}. The same in
  CPU seconds (the audio's or the longest chunk's CPU, + the stitch's, against the single
  process's CPU / W), which the machine's load does not skew: **{_spread(cpu_ratio, 2)}**.
- Two workers on this 2-core machine do not halve the wall time: one x264 process already
  keeps both cores busy, so a second worker here only shares them. The speed-up comes from W
  *machines*: each chunk's wall time above is what one worker machine like this one takes for
  it, so with W machines and W chunks a job takes about the critical path.
"""


def run(args: argparse.Namespace, work: Path, clip: Path, info: MediaInfo) -> None:
    load = os.getloadavg()
    rounds = measure(ffmpeg_binary(), clip, info, work, args)
    text = section(args, info, rounds, load)
    print(text)
    if not args.no_doc:
        path = Path("docs/performance.md")
        path.write_text(
            doc.replace_sections(path.read_text(encoding="utf-8"), text), encoding="utf-8"
        )
        print(f"updated the {HEADING} section of docs/performance.md")
