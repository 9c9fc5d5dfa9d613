"""Packaging benchmark: our packaging vs the bare ffmpeg command it runs, and time to first play.

    python -m bench.packaging [--seconds 60] [--height 1080] [--runs 2]

Generates a test clip (lavfi pattern + tone), then
1. runs the exact argv `media.commands.package` builds, as a bare ffmpeg process, and
2. runs `media.packager.package` (the same argv plus progress, provisional master, finalize),
alternating the two `--runs` times; prints wall time and realtime factor of each and the
overhead. Then starts a real origin process, uploads the clip and measures the time from the
upload's 202 to the first playable segment of every rendition (master + media playlist +
segment all answering 200).

    python -m bench.packaging --chunked [--seconds 300] [--chunks 2]

measures chunked parallel packaging against the single-process ladder instead (the issue's
goals; see bench/chunked.py) and writes the "## Chunked packaging" section.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import m3u8

from bench import doc
from media import commands, packager
from media.ladder import ladder_for
from media.probe import MediaInfo, probe
from media.runner import ffmpeg_binary
from media.samples import make_clip
from procs.supervisor import Supervisor, cli_argv
from tests.factories import TOKEN, distribution_doc, write_config

SEGMENT = 4.0


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its reaped children (ffmpeg)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


_cpu = cpu_seconds


def ffmpeg_version() -> str:
    """The first line of `ffmpeg -version`, without the copyright."""
    version = subprocess.run([ffmpeg_binary(), "-version"], capture_output=True, text=True)
    return version.stdout.split("\n")[0].split(" Copyright")[0]


def bare(
    binary: str, source: Path, info: MediaInfo, out: Path, thumbnails: bool = True
) -> tuple[float, float]:
    """(wall, CPU) seconds of the bare ffmpeg command (progress to /dev/null, nothing else)."""
    rungs = ladder_for(info.display_height)
    for rung in rungs:
        (out / rung.name).mkdir(parents=True, exist_ok=True)
    job = commands.PackageJob(source, out, info, rungs, SEGMENT, thumbnails=thumbnails)
    argv = commands.package(job)
    cpu, started = _cpu(), time.perf_counter()
    subprocess.run([binary, *argv], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _cpu() - cpu


def ours(binary: str, source: Path, info: MediaInfo, out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of media.packager.package, our Python side included."""
    cpu, started = _cpu(), time.perf_counter()
    asyncio.run(packager.package(binary, source, out, info, SEGMENT, on_progress=lambda p: None))
    return time.perf_counter() - started, _cpu() - cpu


def first_playable(clip: Path, work: Path) -> tuple[float, float]:
    """(upload seconds, seconds from the upload's 202 to every rendition's first segment)."""
    doc = distribution_doc(origin={"segment_duration": SEGMENT})
    work.mkdir(parents=True, exist_ok=True)
    config = write_config(work / "distribution.toml", doc)
    url = doc["origins"][0]["url"]
    auth = {"authorization": f"Bearer {TOKEN}"}
    with Supervisor(work / "logs") as sup:
        argv = cli_argv(
            "origin", "--config", str(config), "--region", "us-east", "--data", str(work / "origin")
        )
        sup.wait_healthy(sup.start("origin", argv, f"{url}/healthz"))
        started = time.perf_counter()
        with clip.open("rb") as fh:
            response = httpx.post(
                f"{url}/videos", files={"file": (clip.name, fh)}, headers=auth, timeout=120
            )
        accepted = time.perf_counter()
        video_id = response.json()["id"]
        base = f"{url}/hls/{video_id}"
        deadline = accepted + 120
        while time.perf_counter() < deadline:
            if _playable(base):
                return accepted - started, time.perf_counter() - accepted
            time.sleep(0.05)
    raise RuntimeError("no playable segment within 120 s")


def _playable(base: str) -> bool:
    master = httpx.get(f"{base}/master.m3u8", timeout=5)
    if master.status_code != 200:
        return False
    for variant in m3u8.loads(master.text).playlists:
        media = httpx.get(f"{base}/{variant.uri}", timeout=5)
        segments = m3u8.loads(media.text).segments if media.status_code == 200 else []
        directory = variant.uri.rsplit("/", 1)[0]
        if (
            not segments
            or httpx.head(f"{base}/{directory}/{segments[0].uri}", timeout=5).status_code != 200
        ):
            return False
    return True


Sample = tuple[float, float]  # (wall seconds, CPU seconds)


def _section(
    args: argparse.Namespace, info: MediaInfo, rungs: str, samples: dict[str, list[Sample]],
    overheads: tuple[float, float], size_mb: float, starts: list[float],
) -> str:  # fmt: skip
    rows = []
    for name, values in samples.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        runs = " / ".join(f"{w:.1f}" for w, _ in values)
        rows.append(f"| {name} | {runs} | {wall:.1f} | {info.duration / wall:.2f}x | {cpu:.1f} |")
    ffmpeg = ffmpeg_version()
    wall_overhead, cpu_overhead = overheads
    first = " / ".join(f"{s:.2f}" for s in starts)
    return f"""## Packaging

Measured by `python -m bench.packaging --seconds {args.seconds:g} --height {args.height} \
--runs {args.runs}` on {time.strftime("%Y-%m-%d")}, {os.cpu_count()} cores (load average
{os.getloadavg()[0]:.0f} when the run finished; ffmpeg's own threads count in it). Anything else
running at the same time makes wall times noisy: CPU time is the steadier figure to compare.
{ffmpeg}.

Source: a generated {args.seconds:g} s {info.width}x{info.height} clip at {info.frame_rate:g} fps
with stereo AAC. Ladder {rungs}; {SEGMENT:g} s segments (the first 4 s as 1 s startup
segments); x264 `veryfast`; one ffmpeg process that also writes the poster and the sprite.

| command | wall seconds per run | median wall | realtime factor | median CPU seconds |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

- Overhead of the project's packaging (progress, provisional master, finalize to VOD, measured
  master) over the bare ffmpeg command it runs: **{cpu_overhead:+.1f}% CPU time** (ffmpeg plus
  our Python side, median against median); {wall_overhead:+.1f}% wall time, where the spread
  between runs of the *same* command shows how much of that is the shared machine.
- Upload complete (the origin's `202`) → first playable segment of every rendition (master,
  media playlist and first segment all `200` from a real origin process), per run:
  **{first} s** (goal: under 5 s). The {size_mb:.1f} MB multipart upload itself is not
  included.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, help="default 60, 300 with --chunked")
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    parser.add_argument(
        "--chunked", action="store_true", help="the chunked-packaging goals (bench/chunked.py)"
    )
    parser.add_argument("--chunks", type=int, default=2, help="with --chunked: W chunks")
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = 300.0 if args.chunked else 60.0
    binary = ffmpeg_binary()
    work = Path(tempfile.mkdtemp(prefix="bench-packaging-"))
    try:
        width = args.height * 16 // 9 // 2 * 2
        print(f"generating a {args.seconds:g} s {width}x{args.height} clip ...", flush=True)
        clip = work / "clip.mp4"
        asyncio.run(make_clip(binary, clip, seconds=args.seconds, width=width, height=args.height))
        info = probe(clip)
        if args.chunked:
            from bench import chunked  # it uses this module's timing helpers

            chunked.run(args, work, clip, info)
            return
        rungs = ", ".join(r.name for r in ladder_for(info.display_height))
        print(f"ladder: {rungs}; segments {SEGMENT:g} s; preset veryfast", flush=True)
        samples: dict[str, list[Sample]] = {"bare ffmpeg": [], "our packaging": []}
        for run in range(args.runs):
            for name, fn in (("bare ffmpeg", bare), ("our packaging", ours)):
                out = work / f"{name.split()[0]}-{run}"
                wall, cpu = fn(binary, clip, info, out)
                samples[name].append((wall, cpu))
                shutil.rmtree(out)
                rate = info.duration / wall
                print(
                    f"  run {run + 1} {name:<14} {wall:7.2f} s wall ({rate:4.2f}x), "
                    f"{cpu:7.2f} s CPU",
                    flush=True,
                )
        medians = {
            name: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
            for name, v in samples.items()
        }
        ours_m, bare_m = medians["our packaging"], medians["bare ffmpeg"]
        overheads = ((ours_m[0] / bare_m[0] - 1) * 100, (ours_m[1] / bare_m[1] - 1) * 100)
        print(f"overhead: {overheads[1]:+.1f}% CPU, {overheads[0]:+.1f}% wall")
        starts = []
        for run in range(args.runs):
            _, first = first_playable(clip, work / f"origin-{run}")
            starts.append(first)
            print(f"  upload complete -> first playable segment: {first:.2f} s", flush=True)
        if not args.no_doc:
            size_mb = clip.stat().st_size / 1e6
            section = _section(args, info, rungs, samples, overheads, size_mb, starts)
            doc.write(Path("docs/performance.md"), section)
            print("updated the ## Packaging section of docs/performance.md")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
