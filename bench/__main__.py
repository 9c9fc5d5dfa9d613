"""`python -m bench` (`make bench`): run every workload against every cache and write the doc."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import doc, fixture, soak, targets, tools, workloads
from bench.targets import Running
from media.runner import ffmpeg_binary
from media.samples import make_clip
from procs.supervisor import Supervisor

console = Console()
ROOT = Path(__file__).resolve().parents[1]
GOALS = {"segment": 1.2, "playlist": 0.5}  # ours/nginx requests per second, from issue 8


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--seconds", type=float, default=8.0, help="length of each wrk run")
    p.add_argument("--runs", type=int, default=3, help="wrk runs per hit workload (median)")
    p.add_argument("--flash-viewers", type=int, default=200)
    p.add_argument("--mixed-viewers", type=int, default=50)
    p.add_argument("--mixed-seconds", type=float, default=8.0)
    p.add_argument(
        "--targets",
        default="ours-uvicorn,ours-granian,ours-signed,nginx,varnish",
        help="comma-separated: ours-uvicorn, ours-granian, ours-signed, nginx, varnish",
    )
    p.add_argument("--quick", action="store_true", help="2 s runs, 1 run each: a smoke check")
    p.add_argument(
        "--soak", type=float, default=0.0, help="also soak our edge for this many seconds"
    )
    p.add_argument("--soak-viewers", type=int, default=500)
    p.add_argument("--soak-server", default="granian")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    p.add_argument("--no-doc", action="store_true", help="print only; leave docs/performance.md")
    p.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "edge.json")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, configs)")
    args = p.parse_args()
    if args.quick:
        args.seconds, args.runs, args.mixed_seconds, args.flash_viewers = 2.0, 1, 3.0, 100
    return args


def _cpus() -> tuple[str, str]:
    """(server core, client core): split when there are two or more cores."""
    n = os.cpu_count() or 1
    return ("0", "1") if n >= 2 else ("0", "0")


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (
        (done.stdout + done.stderr).strip().splitlines()[0]
        if (done.stdout + done.stderr).strip()
        else "?"
    )


def _start(name: str, sup: Supervisor, work: Path, origin: fixture.Origin, cpu: str,
           found: dict[str, str | None]) -> Running | None:  # fmt: skip
    if name.startswith("ours-"):
        return targets.ours(sup, work, origin, cpu, name.removeprefix("ours-"))
    if name == "nginx":
        return targets.nginx(sup, work, origin, cpu, str(found["nginx"]))
    if name == "varnish":
        if found["varnishd"] is None:
            console.print("[yellow]varnishd not installed: Varnish skipped[/]")
            return None
        return targets.varnish(sup, work, origin, cpu, str(found["varnishd"]))
    raise SystemExit(f"bench: unknown target {name!r}")


def measure(args: argparse.Namespace, found: dict[str, str | None], work: Path) -> dict[str, Any]:
    server_cpu, client_cpu = _cpus()
    os.sched_setaffinity(0, {int(client_cpu)})  # this process drives the load generator
    results: dict[str, Any] = {"targets": {}, "load_before": os.getloadavg()}
    with Supervisor(work / "logs") as sup:
        origin = fixture.start(sup, work, server_cpu)
        console.print("packaging the benchmark videos with our origin ...")
        main_clip = fixture.noisy_clip(work / "main.mp4", seconds=6, width=1280, height=720)
        master = origin.upload(main_clip)
        segment, segment_size, playlist, playlist_size = fixture.pick_objects(origin.url, master)
        small = asyncio.run(
            make_clip(ffmpeg_binary(), work / "small.mp4", seconds=4, width=320, height=180)
        )
        results["objects"] = {"segment": segment, "segment_bytes": segment_size,
                              "playlist": playlist, "playlist_bytes": playlist_size}  # fmt: skip
        console.print(
            f"segment {segment} ({segment_size} B), playlist {playlist} ({playlist_size} B)"
        )
        for name in [n for n in args.targets.split(",") if n]:
            cold = origin.upload(small)  # a video no cache has seen, for the flash crowd
            if name == "ours-signed":  # hits behind signed cookies: is verification cached?
                running, cookie = targets.signed(sup, work, origin, server_cpu)
                r = {"name": running.name}
                for label, path in (("segment", segment), ("playlist", playlist)):
                    result = workloads.hit(
                        str(found["wrk"]),
                        running,
                        path,
                        client_cpu,
                        args.seconds,
                        args.runs,
                        cookie,
                    )
                    r[label] = result.__dict__
                    console.print(
                        f"  signed {label}: {result.requests_per_s:,.0f} req/s, "
                        f"{result.cpu_us_per_request:.0f} µs server CPU/request"
                    )
                r["rss_mb"] = workloads.rss_mb(running.child.pid)
                results["targets"][name] = r
                sup.stop(running.child)
                continue
            running = _start(name, sup, work, origin, server_cpu, found)
            if running is None:
                continue
            console.print(
                f"[bold]{running.name}[/] on core {server_cpu}, clients on core {client_cpu}"
            )
            r: dict[str, Any] = {"name": running.name}
            r["flash"] = workloads.flash_crowd(running, origin, cold, args.flash_viewers, 4.0)
            for label, path in (("segment", segment), ("playlist", playlist)):
                result = workloads.hit(
                    str(found["wrk"]), running, path, client_cpu, args.seconds, args.runs
                )
                r[label] = result.__dict__
                console.print(
                    f"  {label}: {result.requests_per_s:,.0f} req/s, p99 {result.p99_ms:.2f} ms, "
                    f"{result.cpu_us_per_request:.0f} µs server CPU/request"
                )
            r["mixed"] = workloads.mixed(running, master, args.mixed_viewers, args.mixed_seconds)
            r["rss_mb"] = workloads.rss_mb(running.child.pid)
            console.print(
                f"  flash: {r['flash']['max_per_object']} origin request(s) per object at most; "
                f"mixed: {r['mixed']['requests_per_s']:,.0f} req/s; RSS {r['rss_mb']} MB"
            )
            results["targets"][name] = r
            sup.stop(running.child)
        if args.soak > 0:
            running = targets.ours(sup, work, origin, server_cpu, args.soak_server)
            console.print(f"soak: {args.soak_viewers} real-time viewers for {args.soak:.0f} s ...")
            results["soak"] = soak.soak(running, master, args.soak_viewers, args.soak)
            results["soak"]["server"] = args.soak_server
            sup.stop(running.child)
    results["load_after"] = os.getloadavg()
    return results


def _ratio(results: dict[str, Any], ours: str, workload: str) -> float | None:
    t = results["targets"]
    if ours not in t or "nginx" not in t:
        return None
    return t[ours][workload]["requests_per_s"] / t["nginx"][workload]["requests_per_s"]


def render(results: dict[str, Any]) -> str:
    """Print the side-by-side table and return the markdown for docs/performance.md."""
    t = results["targets"]
    names = list(t)
    if not names:  # a soak-only run rewrites only its own section
        return "\n".join(_soak(results["soak"])) + "\n" if "soak" in results else ""
    table = Table(title="edge benchmark (requests/s, median of runs)")
    table.add_column("workload")
    for n in names:
        table.add_column(t[n]["name"], justify="right")
    md = ["## Edge benchmark", "", *_preamble(results), "",
          "| workload | " + " | ".join(t[n]["name"] for n in names) + " |",
          "|---|" + "---:|" * len(names)]  # fmt: skip
    rows = [
        ("1 MB segment hit, req/s", lambda r: f"{r['segment']['requests_per_s']:,.0f}"),
        ("1 MB segment hit, p99 ms", lambda r: f"{r['segment']['p99_ms']:.2f}"),
        (
            "1 MB segment hit, server CPU µs/request",
            lambda r: f"{r['segment']['cpu_us_per_request']:.0f}",
        ),
        ("playlist hit, req/s", lambda r: f"{r['playlist']['requests_per_s']:,.0f}"),
        ("playlist hit, p99 ms", lambda r: f"{r['playlist']['p99_ms']:.2f}"),
        (
            "playlist hit, server CPU µs/request",
            lambda r: f"{r['playlist']['cpu_us_per_request']:.0f}",
        ),
        (
            "flash crowd: origin requests per object (max)",
            lambda r: str(r["flash"]["max_per_object"]),
        ),
        ("flash crowd: errors", lambda r: str(r["flash"]["errors"])),
        ("flash crowd: first segment p99 ms", lambda r: str(r["flash"]["first_segment_p99_ms"])),
        ("mixed players: req/s", lambda r: f"{r['mixed']['requests_per_s']:,.0f}"),
        ("mixed players: MB/s", lambda r: f"{r['mixed']['mb_per_s']:,.0f}"),
        ("mixed players: segment p99 ms", lambda r: str(r["mixed"]["p99_ms"].get("segment"))),
        ("RSS after the run, MB", lambda r: str(r["rss_mb"])),
    ]

    def safe(cell: Any, r: dict[str, Any]) -> str:
        try:
            return str(cell(r))
        except KeyError:
            return "–"  # a workload this target does not run

    for label, cell in rows:
        values = [safe(cell, t[n]) for n in names]
        table.add_row(label, *values)
        md.append(f"| {label} | " + " | ".join(values) + " |")
    console.print(table)
    md += ["", "Ratios ours / nginx (same run, same core):", ""]
    for ours in [n for n in names if n.startswith("ours-") and n != "ours-signed"]:
        for workload, goal in GOALS.items():
            ratio = _ratio(results, ours, workload)
            if ratio is not None:
                verdict = "met" if ratio >= goal else "NOT met"
                cpu = (
                    t["nginx"][workload]["cpu_us_per_request"]
                    / t[ours][workload]["cpu_us_per_request"]
                )
                line = (
                    f"- {t[ours]['name']}, {workload} hit: **{ratio:.2f}x** nginx requests/s "
                    f"(goal {goal}x: {verdict}); by server CPU per request {cpu:.2f}x"
                )
                console.print(line.replace("**", ""))
                md.append(line)
    if "ours-signed" in t and "ours-granian" in t:
        signed, plain = t["ours-signed"]["playlist"], t["ours-granian"]["playlist"]
        line = (
            f"- Signed-cookie playlist hits: {signed['requests_per_s']:,.0f} req/s and "
            f"{signed['cpu_us_per_request']:.0f} µs CPU/request against "
            f"{plain['requests_per_s']:,.0f} "
            f"and {plain['cpu_us_per_request']:.0f} µs without access control: verification adds "
            f"{signed['cpu_us_per_request'] - plain['cpu_us_per_request']:.0f} µs per request"
        )
        console.print(line)
        md.append(line)
    if "soak" in results:
        md += ["", *_soak(results["soak"])]
    return "\n".join(md) + "\n"


def _preamble(results: dict[str, Any]) -> list[str]:
    o = results["objects"]
    env = results["environment"]
    return [
        f"Measured {env['date']} on {env['cpus']} cores ({env['cpu']}), Python {env['python']}, "
        f"{env['nginx']}, {env['varnish']}, {env['wrk']}.",
        f"Objects: segment `{o['segment']}` ({o['segment_bytes']:,} B), media playlist "
        f"`{o['playlist']}` ({o['playlist_bytes']:,} B), packaged by our origin.",
        "Every server runs pinned to core 0 (`taskset -c 0`; nginx with one worker), every client "
        "(wrk -t1 -c16, the load generator) on core 1. Hit workloads: median of "
        f"{env['runs']} wrk runs of {env['seconds']:g} s. Flash crowd: {env['flash']} viewers "
        "start one cold video at once; origin requests are counted by a proxy in front of the "
        "origin. "
        f"Mixed: {env['mixed']} looping ABR players for {env['mixed_seconds']:g} s.",
        f"Load average before/after: {env['load_before']} / {env['load_after']} — other work "
        "on this shared 2-core machine adds noise; compare columns of the same run, not runs.",
    ]


def _soak(s: dict[str, Any]) -> list[str]:
    return [
        "## Edge soak",
        "",
        f"{s['viewers']} real-time ABR viewers for {s['seconds']:.0f} s against our edge "
        f"({s['server']}, memory tier {targets.MEMORY_TIER // 2**20} MiB): "
        f"RSS {s['rss_start_mb']} MB at start, "
        f"{s['rss_max_mb']} MB max, {s['rss_end_mb']} MB at the end; slope over the second half "
        f"**{s['slope_mb_per_min_second_half']} MB/min** "
        f"(whole run {s['slope_mb_per_min_all']} MB/min). "
        f"{s['requests']:,} requests, {s['errors']} errors, rebuffer ratio {s['rebuffer_ratio']}, "
        f"startup p95 {s['startup_p95_ms']} ms. Edge cache at the end: `{s['edge_cache']}`.",
    ]


def main() -> None:
    args = _args()
    found = tools.ensure(console)
    work = Path(tempfile.mkdtemp(prefix="streaming-bench-"))
    started = time.monotonic()
    try:
        results = measure(args, found, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    results["environment"] = {
        "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "cpu": cpu,
        "python": platform.python_version(), "nginx": _version([str(found["nginx"]), "-v"]),
        "varnish": _version([str(found["varnishd"]), "-V"]) if found["varnishd"] else "no Varnish",
        "wrk": _version([str(found["wrk"]), "-v"]), "runs": args.runs, "seconds": args.seconds,
        "flash": args.flash_viewers, "mixed": args.mixed_viewers,
        "mixed_seconds": args.mixed_seconds,
        "load_before": " ".join(f"{x:.2f}" for x in results["load_before"]),
        "load_after": " ".join(f"{x:.2f}" for x in results["load_after"]),
    }  # fmt: skip
    markdown = render(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str))
    if not args.no_doc:
        doc.write(args.doc, markdown)
        console.print(f"wrote {args.doc}")
    console.print(f"results: {args.json} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
