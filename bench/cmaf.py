"""CMAF benchmark: the same clip packaged as TS, fMP4 and fMP4 + AES-128.

    python -m bench.cmaf [--seconds 20] [--height 720] [--runs 2]

Generates a test clip (lavfi pattern + tone), then packages it with `media.packager.package`
in each container, alternating them `--runs` times. For each it prints the median wall and CPU
seconds and the bytes the media segments take (init segments included for fMP4; playlists,
MPD and thumbnails excluded). For fMP4 it also prints the time `media.dash` takes to write the
MPD from the packaged files, and for fMP4 + AES-128 the time of the encryption pass.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from media import packager
from media.dash import stream_timeline
from media.probe import probe
from media.runner import ffmpeg_binary
from media.samples import make_clip
from streaming.hls import Container

SEGMENT = 4.0
VARIANTS = {
    "ts": (Container.TS, False),
    "fmp4": (Container.FMP4, False),
    "fmp4+aes-128": (Container.FMP4, True),
}


def _cpu() -> float:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def media_bytes(out: Path) -> int:
    """Bytes of every rendition's segments and init segments."""
    return sum(
        p.stat().st_size
        for p in out.glob("*/*")
        if p.suffix in (".ts", ".m4s", ".mp4") and not p.parent.name.startswith("_")
    )


def run(binary: str, source: Path, out: Path, container: Container, aes: bool) -> dict[str, float]:
    """One packaging of `source`: wall and CPU seconds, media bytes, MPD timeline seconds."""
    info = probe(source)
    key = packager.AesKey(bytes(16), "/drm/bench/key") if aes else None
    cpu, started = _cpu(), time.perf_counter()
    asyncio.run(
        packager.package(binary, source, out, info, SEGMENT, None, key, container=container)
    )
    wall, used = time.perf_counter() - started, _cpu() - cpu
    figures = {"wall": wall, "cpu": used, "bytes": float(media_bytes(out))}
    if container is Container.FMP4 and not aes:
        started = time.perf_counter()
        for directory in sorted(p.parent for p in out.glob("*/index.m3u8")):
            stream_timeline(directory)
        figures["timelines"] = time.perf_counter() - started
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cmaf", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    binary = ffmpeg_binary()
    work = Path(tempfile.mkdtemp(prefix="bench-cmaf-"))
    try:
        width = args.height * 16 // 9 // 2 * 2
        source = asyncio.run(
            make_clip(binary, work / "clip.mp4", seconds=args.seconds, width=width,
                      height=args.height)
        )  # fmt: skip
        results: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
        for i in range(args.runs):
            for name, (container, aes) in VARIANTS.items():
                out = work / f"{name}-{i}"
                results[name].append(run(binary, source, out, container, aes))
                shutil.rmtree(out)
        print(f"{args.seconds:g} s {width}x{args.height} clip, {SEGMENT:g} s segments, "
              f"median of {args.runs} runs")  # fmt: skip
        base = statistics.median(r["bytes"] for r in results["ts"])
        for name, runs in results.items():
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            size = statistics.median(r["bytes"] for r in runs)
            line = (
                f"{name:>13}: wall {wall:6.2f} s  CPU {cpu:6.2f} s  media {size / 1e6:7.2f} MB"
                f" ({size / base:5.1%} of TS)"
            )
            if "timelines" in runs[0]:
                timelines = statistics.median(r["timelines"] for r in runs)
                line += f"  MPD timelines read in {timelines * 1000:.1f} ms"
            print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
