"""`python -m bench` (`make bench`): run every workload against every cache and write the doc."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import doc, fixture, soak, soak_report, targets, tools, workloads, wrk
from bench.targets import Running
from media.runner import ffmpeg_binary
from media.samples import make_clip
from procs.supervisor import Supervisor, cli_argv

console = Console(width=None if sys.stdout.isatty() else 200)  # a piped run keeps its columns
ROOT = Path(__file__).resolve().parents[1]
# Issue 14's goals, per core: ours/nginx requests per second (at least) and our server CPU per
# request over nginx's (at most).
GOALS = {"segment": (1.2, 1.0), "playlist": (0.5, 2.0)}
PER_CORE = "ours-granian,ours-uvicorn,ours-signed,ours-demo,nginx,varnish"
SIGNED = ("ours-signed", "ours-demo")


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--seconds", type=float, default=8.0, help="length of each wrk run")
    p.add_argument("--runs", type=int, default=3, help="interleaved wrk rounds per hit workload")
    p.add_argument("--flash-viewers", type=int, default=200)
    p.add_argument("--mixed-viewers", type=int, default=50)
    p.add_argument("--mixed-seconds", type=float, default=8.0)
    p.add_argument(
        "--targets", default=PER_CORE,
        help="comma-separated, each one process on one core: ours-granian, ours-uvicorn, "
        "ours-rsgi, ours-signed (cookies required), ours-demo (cookies + access log), nginx, "
        "varnish",
    )  # fmt: skip
    p.add_argument(
        "--all-cores", type=int, default=2, metavar="N",
        help="then ours --workers N against nginx worker_processes N on every core (0: skip)",
    )  # fmt: skip
    p.add_argument(
        "--flash-workers", type=int, default=4, metavar="N",
        help="with --all-cores: also a flash crowd on ours --workers N alone (0: skip)",
    )  # fmt: skip
    p.add_argument("--quick", action="store_true", help="2 s runs, 1 run each: a smoke check")
    p.add_argument(
        "--soak", type=float, default=0.0, help="also soak our edge for this many seconds"
    )
    p.add_argument("--soak-viewers", type=int, default=500)
    p.add_argument("--soak-server", default="granian")
    p.add_argument("--soak-workers", type=int, default=2, help="worker processes of the soaked POP")
    p.add_argument(
        "--soak-memory-mib", type=int, default=16,
        help="memory tier of each soaked worker; the soak's videos outgrow it",
    )  # fmt: skip
    p.add_argument("--soak-videos", type=int, default=6, help="distinct videos the viewers watch")
    p.add_argument("--soak-video-seconds", type=int, default=20, help="length of each (720p)")
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


Started = tuple[Running, dict[str, str] | None]  # a target and the headers its viewers send


def _start(name: str, sup: Supervisor, work: Path, origin: fixture.Origin, cpu: str,
           found: dict[str, str | None]) -> Started | None:  # fmt: skip
    """Start one per-core target: (running, the headers its viewers send)."""
    if name in SIGNED:
        return targets.signed(sup, work, origin, cpu, access_log=name == "ours-demo")
    if name.startswith("ours-"):
        server = name.removeprefix("ours-").replace("rsgi", "granian-rsgi")
        return targets.ours(sup, work, origin, cpu, server), None
    if name == "nginx":
        return targets.nginx(sup, work, origin, cpu, str(found["nginx"])), None
    if name == "varnish":
        if found["varnishd"] is None:
            console.print("[yellow]varnishd not installed: Varnish skipped[/]")
            return None
        return targets.varnish(sup, work, origin, cpu, str(found["varnishd"])), None
    raise SystemExit(f"bench: unknown target {name!r}")


def _hits(
    args: argparse.Namespace, found: dict[str, str | None], started: dict[str, Any],
    objects: dict[str, Any], cpu: str, threads: int = 1, connections: int = 16,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Both hit workloads, every target in turn per round; {target: {workload: figures}}."""
    out: dict[str, dict[str, Any]] = {name: {} for name in started}
    entries = list(started.values())
    for label in ("segment", "playlist"):
        rounds = workloads.interleaved(
            str(found["wrk"]), entries, objects[label], cpu, args.seconds, args.runs, threads,
            connections,
        )  # fmt: skip
        for name, results in zip(started, rounds, strict=True):
            out[name][label] = {**wrk.spread(results).as_dict(),
                                "rounds": [r.__dict__ for r in results]}  # fmt: skip
            f = out[name][label]
            console.print(
                f"  {started[name][0].name}, {label}: {f['requests_per_s']:,.0f} req/s "
                f"({f['rps_min']:,.0f}-{f['rps_max']:,.0f}), "
                f"{f['cpu_us_per_request']:.0f} µs server CPU/request"
            )
    return out


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
        objects = {"segment": segment, "playlist": playlist}
        results["objects"] = {"segment": segment, "segment_bytes": segment_size,
                              "playlist": playlist, "playlist_bytes": playlist_size}  # fmt: skip
        console.print(
            f"segment {segment} ({segment_size} B), playlist {playlist} ({playlist_size} B)"
        )
        started: dict[str, Started] = {}
        for name in [n for n in args.targets.split(",") if n]:
            entry = _start(name, sup, work, origin, server_cpu, found)
            if entry is not None:
                started[name] = entry
        console.print(f"per core: servers on core {server_cpu}, wrk on core {client_cpu}")
        r: dict[str, dict[str, Any]] = {n: {"name": e[0].name} for n, e in started.items()}
        for name, (running, headers) in started.items():
            if headers is None:  # a cold video per cache; viewers of signed edges need cookies
                cold = origin.upload(small)
                r[name]["flash"] = workloads.flash_crowd(
                    running, origin, cold, args.flash_viewers, 4.0
                )
        for name, figures in _hits(args, found, started, objects, client_cpu).items():
            r[name].update(figures)
        for name, (running, headers) in started.items():
            if headers is None:
                r[name]["mixed"] = workloads.mixed(
                    running, master, args.mixed_viewers, args.mixed_seconds
                )
            r[name]["rss_mb"] = workloads.rss_mb(running.child.pid)
        for running, _ in started.values():
            sup.stop(running.child)
        results["targets"] = r
        if args.all_cores > 1:
            results["all_cores"] = _all_cores(args, found, sup, work, origin, small, objects)
        if args.soak > 0:
            results["soak"] = soak.on_pop(
                sup, work, origin, console.print, server=args.soak_server,
                workers=args.soak_workers, tier_mib=args.soak_memory_mib,
                viewers=args.soak_viewers, seconds=args.soak, videos=args.soak_videos,
                video_seconds=args.soak_video_seconds,
            )  # fmt: skip
    results["load_after"] = os.getloadavg()
    return results


def _all_cores(
    args: argparse.Namespace, found: dict[str, str | None], sup: Supervisor, work: Path,
    origin: fixture.Origin, small: Path, objects: dict[str, Any],
) -> dict[str, Any] | None:  # fmt: skip
    """Ours with `--workers N` against nginx with N workers, servers and wrk on every core."""
    n = args.all_cores
    if not _workers_flag():
        console.print("[yellow]streaming edge has no --workers flag yet: all-cores run skipped[/]")
        return None
    cores = ",".join(str(c) for c in range(os.cpu_count() or 1))
    os.sched_setaffinity(0, {int(c) for c in cores.split(",")})
    started: dict[str, Started] = {
        "ours": (targets.ours(sup, work, origin, cores, "granian", workers=n), None),
        "nginx": (targets.nginx(sup, work, origin, cores, str(found["nginx"]), workers=n), None),
    }
    console.print(f"all cores ({cores}): {n} workers each, wrk -t{n} -c32 on the same cores")
    out: dict[str, Any] = {"workers": n, "cores": cores, "targets": {}}
    figures = _hits(args, found, started, objects, cores, threads=n, connections=32)
    for name, (running, _) in started.items():
        out["targets"][name] = {"name": running.name, **figures[name]}
        cold = origin.upload(small)
        out["targets"][name]["flash"] = workloads.flash_crowd(
            running, origin, cold, args.flash_viewers, 4.0
        )
        out["targets"][name]["rss_mb"] = workloads.rss_mb(running.child.pid)
        sup.stop(running.child)
    out["flash_workers"] = args.flash_workers or None
    if args.flash_workers > 0:  # issue 14: one origin request per object per POP at N = 4 too
        running = targets.ours(sup, work, origin, cores, "granian", workers=args.flash_workers)
        cold = origin.upload(small)
        out["targets"]["ours-flash"] = {
            "name": running.name,
            "flash": workloads.flash_crowd(running, origin, cold, args.flash_viewers, 4.0),
            "rss_mb": workloads.rss_mb(running.child.pid),
        }
        sup.stop(running.child)
    return out


def _workers_flag() -> bool:
    """Whether `streaming edge` has `--workers` (a POP of several processes on one port)."""
    try:
        done = subprocess.run(cli_argv("edge", "--help"), capture_output=True, text=True,
                              timeout=60)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--workers" in done.stdout


def _range(f: dict[str, Any], key: str, low: str, high: str, fmt: str) -> str:
    return f"{f[key]:{fmt}} ({f[low]:{fmt}}–{f[high]:{fmt}})"


ROWS: list[tuple[str, Any]] = [
    ("1 MB segment hit, req/s", lambda r: _range(r["segment"], "requests_per_s", "rps_min",
                                                  "rps_max", ",.0f")),
    ("1 MB segment hit, p99 ms", lambda r: f"{r['segment']['p99_ms']:.2f}"),
    ("1 MB segment hit, server CPU µs/request", lambda r: _range(
        r["segment"], "cpu_us_per_request", "cpu_min", "cpu_max", ".0f")),
    ("playlist hit, req/s", lambda r: _range(r["playlist"], "requests_per_s", "rps_min",
                                              "rps_max", ",.0f")),
    ("playlist hit, p99 ms", lambda r: f"{r['playlist']['p99_ms']:.2f}"),
    ("playlist hit, server CPU µs/request", lambda r: _range(
        r["playlist"], "cpu_us_per_request", "cpu_min", "cpu_max", ".0f")),
    ("flash crowd: origin requests per object (max)", lambda r: str(r["flash"]["max_per_object"])),
    ("flash crowd: objects / origin requests (proxy)",
     lambda r: f"{r['flash']['objects']} / {r['flash']['origin_requests']}"),
    ("flash crowd: origin fetches (edge /metrics)",
     lambda r: str(r["flash"]["edge_origin_fetches"])),
    ("flash crowd: errors", lambda r: str(r["flash"]["errors"])),
    ("flash crowd: first segment p99 ms", lambda r: str(r["flash"]["first_segment_p99_ms"])),
    ("mixed players: req/s", lambda r: f"{r['mixed']['requests_per_s']:,.0f}"),
    ("mixed players: MB/s", lambda r: f"{r['mixed']['mb_per_s']:,.0f}"),
    ("mixed players: segment p99 ms", lambda r: str(r["mixed"]["p99_ms"].get("segment"))),
    ("RSS after the run, MB", lambda r: str(r["rss_mb"])),
]  # fmt: skip


def _table(title: str, t: dict[str, Any]) -> list[str]:
    """One markdown table (and the same on the console) of `ROWS` for the targets `t`."""
    names = list(t)
    table = Table(title=title)
    table.add_column("workload")
    for n in names:
        table.add_column(t[n]["name"], justify="right")
    md = ["| workload | " + " | ".join(t[n]["name"] for n in names) + " |",
          "|---|" + "---:|" * len(names)]  # fmt: skip

    def safe(cell: Any, r: dict[str, Any]) -> str:
        try:
            return str(cell(r))
        except KeyError:
            return "–"  # a workload this target does not run

    for label, cell in ROWS:
        values = [safe(cell, t[n]) for n in names]
        if all(v == "–" for v in values):
            continue
        table.add_row(label, *values)
        md.append(f"| {label} | " + " | ".join(values) + " |")
    console.print(table)
    return md


def ratios(t: dict[str, Any], ours: str, base: str = "nginx", goals: bool = True) -> list[str]:
    """Lines of ours/base by requests/s (median, and the range of the per-round ratios, which
    interleaving makes comparable) and by server CPU per request, against the per-core goals."""
    lines = []
    for workload, (goal_rps, goal_cpu) in GOALS.items():
        if workload not in t.get(ours, {}) or workload not in t.get(base, {}):
            continue
        a, b = t[ours][workload], t[base][workload]
        rps = a["requests_per_s"] / b["requests_per_s"]
        cpu = a["cpu_us_per_request"] / b["cpu_us_per_request"]
        per_round = [
            x["requests_per_s"] / y["requests_per_s"]
            for x, y in zip(a.get("rounds", []), b.get("rounds", []), strict=False)
        ]
        spread = f" (rounds {min(per_round):.2f}–{max(per_round):.2f})" if per_round else ""
        if not goals:
            lines.append(
                f"- {t[ours]['name']}, {workload} hit: **{rps:.2f}x** {t[base]['name']} "
                f"requests/s{spread}; server CPU per request **{cpu:.2f}x** its"
            )
            continue
        lines.append(
            f"- {t[ours]['name']}, {workload} hit: **{rps:.2f}x** {t[base]['name']} requests/s"
            f"{spread}, goal ≥ {goal_rps}x: {'met' if rps >= goal_rps else 'NOT met'}; server "
            f"CPU per request **{cpu:.2f}x** its, goal ≤ {goal_cpu}x: "
            f"{'met' if cpu <= goal_cpu else 'NOT met'}"
        )
    return lines


def render(results: dict[str, Any]) -> str:
    """Print the side-by-side tables and return the markdown for docs/performance.md."""
    t = results["targets"]
    if not t:  # a run without per-core targets rewrites only the soak section
        for line in _all_cores_md(results, t):  # printed; the doc's part needs a per-core run
            if line.startswith("- "):
                console.print(line.replace("**", ""))
        return "\n".join(soak_report.section(results)) + "\n" if "soak" in results else ""
    md = ["## Edge benchmark", "", *_preamble(results), "",
          "Per core (each server one process on core 0, wrk on core 1); median of the rounds, "
          "(min–max) over them:", "",
          *_table("per core: requests/s and server CPU, median (min–max)", t)]  # fmt: skip
    md += ["", "Ratios ours / nginx (same rounds, same core):", ""]
    for ours in [n for n in t if n.startswith("ours-")]:
        md += ratios(t, ours)
    if "ours-signed" in t and "ours-granian" in t:
        md.append(_extra_line(t, "ours-signed", "signed cookies"))
    if "ours-demo" in t and "ours-granian" in t:
        md.append(_extra_line(t, "ours-demo", "signed cookies and the access log"))
    md += _all_cores_md(results, t)
    for line in md:
        if line.startswith("- "):
            console.print(line.replace("**", ""))
    if "soak" in results:
        md += ["", *soak_report.section(results)]
    return "\n".join(md) + "\n"


def _all_cores_md(results: dict[str, Any], t: dict[str, Any]) -> list[str]:
    """The all-cores part of `## Edge benchmark`: its table, ratios and the N-worker goals."""
    md: list[str] = []
    every = results.get("all_cores")
    if every:
        md += ["", f"All cores: {every['workers']} worker processes each on cores "
               f"{every['cores']}, wrk -t{every['workers']} -c32 sharing those cores (so "
               "requests/s is bounded by the client too; CPU per request stays comparable):", "",
               *_table("all cores", every["targets"]), "",
               *ratios(every["targets"], "ours", goals=False)]  # fmt: skip
        one, many = t.get("ours-granian"), every["targets"]["ours"]
        if one is not None:
            for workload in ("segment", "playlist"):
                grew = many[workload]["cpu_us_per_request"] / one[workload]["cpu_us_per_request"]
                md.append(
                    f"- ours, {workload} hit: server CPU per request with {every['workers']} "
                    f"workers is {grew:.2f}x one worker's (goal within 1.10x)"
                )
        md += _flash_goal(every)
    elif "all_cores" in results:
        md += ["", "All cores: not run (`streaming edge` has no `--workers` flag here)."]
    return md


def _flash_goal(every: dict[str, Any]) -> list[str]:
    """The goal line: one origin request per object per POP in the flash crowd at each N."""
    runs = [(every["workers"], every["targets"].get("ours", {}).get("flash")),
            (every.get("flash_workers"), every["targets"].get("ours-flash", {}).get("flash"))]
    done = [(n, f) for n, f in runs if n is not None and f is not None]
    if not done:
        return []
    parts = []
    for n, flash in done:
        edge = flash.get("edge_origin_fetches")
        parts.append(
            f"N = {n}: max {flash['max_per_object']} per object, {flash['origin_requests']} "
            f"origin requests for {flash['objects']} objects"
            + (f" ({edge} in the edge's /metrics)" if edge is not None else "")
            + f", {flash['errors']} errors"
        )
    met = all(f["max_per_object"] == 1 and f["errors"] == 0 for _, f in done)
    return [f"- ours, flash crowd of {done[0][1]['viewers']} viewers, 1 origin request per "
            f"object per POP: {'; '.join(parts)} — goal {'met' if met else 'NOT met'}"]  # fmt: skip


def _extra_line(t: dict[str, Any], name: str, what: str) -> str:
    lines = []
    for workload in ("playlist", "segment"):
        a, b = t[name][workload], t["ours-granian"][workload]
        lines.append(
            f"{workload} hits {a['requests_per_s']:,.0f} req/s and "
            f"{a['cpu_us_per_request']:.0f} µs CPU/request against {b['requests_per_s']:,.0f} "
            f"and {b['cpu_us_per_request']:.0f} µs without: "
            f"{a['cpu_us_per_request'] - b['cpu_us_per_request']:+.0f} µs per request"
        )
    return f"- With {what}: " + "; ".join(lines)


def _preamble(results: dict[str, Any]) -> list[str]:
    o = results["objects"]
    env = results["environment"]
    return [
        f"Measured {env['date']} on {env['cpus']} cores ({env['cpu']}), Python {env['python']}, "
        f"{env['nginx']}, {env['varnish']}, {env['wrk']}, by `{env['command']}`.",
        f"Objects: segment `{o['segment']}` ({o['segment_bytes']:,} B), media playlist "
        f"`{o['playlist']}` ({o['playlist_bytes']:,} B), packaged by our origin.",
        "Per core: every server runs one process pinned to core 0 (`taskset -c 0`; ours "
        "`--workers 1`, nginx `worker_processes 1`, Varnish one thread pool), the load generator "
        "(wrk -t1 -c16) on core 1. Hit workloads: "
        f"{env['runs']} rounds of one {env['seconds']:g} s wrk run per target in turn (A B C A B "
        "C ...). Server CPU is user + system time of the server's processes over responses. "
        f"Flash crowd: {env['flash']} viewers start one cold video at once; origin requests are "
        "counted by a proxy in front of the origin. "
        f"Mixed: {env['mixed']} looping ABR players for {env['mixed_seconds']:g} s.",
        f"Load average before/after: {env['load_before']} / {env['load_after']} — other work "
        "on this shared 2-core machine adds noise; compare columns of the same run, not runs.",
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
        "command": " ".join(["python -m bench", shlex.join(sys.argv[1:])]).strip(),
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
