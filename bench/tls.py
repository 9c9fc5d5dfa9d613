"""`python -m bench.tls`: what TLS costs at the edge, against nginx with the same certificate.

One run measures, on the same pinned cores as `python -m bench` (servers on core 0, clients on
core 1): segment and playlist hits over HTTPS with wrk (keep-alive, and one new connection per
request for the handshake), both caches also over plain HTTP, rounds interleaved; then HTTP/3
against HTTP/2 hits on our edge from one Python client (`bench/h3.py`). Writes the
`## Edge TLS` section of docs/performance.md and leaves every other section alone.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import doc, fixture, h3, tools, workloads, wrk
from bench.targets import MEMORY_TIER, Running
from procs.supervisor import Supervisor, cli_argv, free_port
from streaming import certs
from streaming.tls import POLICIES

ROOT = Path(__file__).resolve().parents[1]
POLICY = "TLSv1.2_2021"
NGINX_TLS_CONF = """\
{user}worker_processes 1;
daemon off;
pid {work}/nginx-tls.pid;
error_log {work}/nginx-tls-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    proxy_cache_path {work}/nginx-tls-cache levels=1:2 keys_zone=hls:32m \
max_size=1g inactive=1h use_temp_path=off;
    upstream origin {{ server {origin}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        listen 127.0.0.1:{tls_port} ssl backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers {ciphers};
        ssl_prefer_server_ciphers on;
        ssl_session_tickets on;
        location = /healthz {{ proxy_pass http://origin; }}
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache hls;
            proxy_cache_lock on;
            proxy_cache_valid 200 1h;
            add_header X-Cache-Status $upstream_cache_status;
        }}
    }}
}}
"""


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.tls", description=__doc__)
    p.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    p.add_argument("--runs", type=int, default=3, help="interleaved rounds of every wrk run")
    p.add_argument("--h3-requests", type=int, default=400, help="requests per h2/h3 round")
    p.add_argument("--h3-seconds", type=float, default=10.0, help="time bound per h2/h3 round")
    p.add_argument("--h3-runs", type=int, default=3, help="interleaved h2/h3 rounds")
    p.add_argument("--concurrency", type=int, default=16, help="streams in flight, throughput")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    p.add_argument("--no-doc", action="store_true", help="print only")
    p.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "tls.json")
    p.add_argument("--quick", action="store_true", help="1 s runs, 1 round: a smoke check")
    p.add_argument("--render", type=Path, help="only rewrite the doc from a saved --json file")
    args = p.parse_args()
    if args.quick:
        args.seconds, args.runs, args.h3_requests, args.h3_seconds, args.h3_runs = 1, 1, 50, 3, 1
    return args


def _pki(work: Path) -> dict[str, str]:
    """One local CA and one loopback certificate (leaf + CA) both servers present."""
    ca = certs.make_ca()
    certs.write(ca, work / "ca.pem", work / "ca-key.pem")
    leaf = certs.issue(ca, ("127.0.0.1", "localhost"))
    certs.write(leaf, work / "cert.pem", work / "key.pem", chain=ca)
    return {
        "cert_file": str(work / "cert.pem"),
        "key_file": str(work / "key.pem"),
        "ca_file": str(work / "ca.pem"),
    }


def ours(
    sup: Supervisor, work: Path, origin: fixture.Origin, cpu: str, tls: dict[str, str]
) -> tuple[Running, Running]:
    """Our edge with an https_port (hypercorn: TLS, HTTP/2, HTTP/3; plain HTTP on the same
    process); (https, http) views of it."""
    port, tls_port = free_port(), free_port()
    doc_ = fixture.distribution(
        origin.counter_url,
        port,
        edge={"memory_cache_bytes": MEMORY_TIER},
        tls={**tls, "security_policy": POLICY},
    )
    doc_["edges"][0]["https_port"] = tls_port
    config = fixture.write_toml(work / "edge-tls.toml", doc_)
    argv = cli_argv(
        "edge",
        "--config",
        str(config),
        "--pop",
        "bench",
        "--cache-dir",
        str(work / "edge-tls-cache"),
    )
    child = sup.start("ours-tls", ["taskset", "-c", cpu, *argv], f"http://127.0.0.1:{port}/healthz")
    sup.wait_healthy(child, timeout=60)
    return (
        Running("ours (hypercorn) HTTPS", f"https://127.0.0.1:{tls_port}", child, "x-cache", "Hit"),
        Running("ours (hypercorn) HTTP", f"http://127.0.0.1:{port}", child, "x-cache", "Hit"),
    )


def nginx(
    sup: Supervisor,
    work: Path,
    origin: fixture.Origin,
    cpu: str,
    binary: str,
    tls: dict[str, str],
) -> tuple[Running, Running]:
    """nginx proxy_cache (one worker) with the same certificate, protocols and TLS 1.2 ciphers."""
    port, tls_port = free_port(), free_port()
    shutil.rmtree(work / "nginx-tls-cache", ignore_errors=True)
    conf = work / "nginx-tls.conf"
    conf.write_text(
        NGINX_TLS_CONF.format(
            user="user root;\n" if os.geteuid() == 0 else "",
            work=work,
            port=port,
            tls_port=tls_port,
            origin=origin.counter_url.removeprefix("http://"),
            cert=tls["cert_file"],
            key=tls["key_file"],
            ciphers=":".join(POLICIES[POLICY].ciphers),
        )
    )
    argv = ["taskset", "-c", cpu, binary, "-c", str(conf), "-e", str(work / "nginx-tls-error.log")]
    child = sup.start("nginx-tls", argv, f"http://127.0.0.1:{port}/healthz")
    sup.wait_healthy(child, timeout=30)
    return (
        Running("nginx HTTPS", f"https://127.0.0.1:{tls_port}", child, "x-cache-status", "HIT"),
        Running("nginx HTTP", f"http://127.0.0.1:{port}", child, "x-cache-status", "HIT"),
    )


def warm(running: Running, path: str, ca_file: str) -> None:
    """Fetch twice; the second answer must be a hit, or the hit benchmark would lie."""
    for _ in range(2):
        answer = httpx.get(running.url + path, verify=trust(ca_file), timeout=30)
        answer.raise_for_status()
    if not answer.headers.get(running.hit_header, "").startswith(running.hit_value):
        raise SystemExit(f"bench: {running.name} did not cache {path}")


def trust(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


def one_wrk(
    binary: str,
    running: Running,
    path: str,
    cpu: str,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> wrk.WrkResult:
    before = workloads.cpu_seconds(running.child.pid)
    result = wrk.run(binary, running.url + path, cpu, seconds, headers=headers)
    used = workloads.cpu_seconds(running.child.pid) - before
    per_request = used / max(1.0, result.requests_per_s * seconds) * 1e6
    return dataclasses.replace(result, cpu_us_per_request=round(per_request, 1))


def _spread(results: list[wrk.WrkResult]) -> dict[str, float]:
    rates = [r.requests_per_s for r in results]
    return {
        "min": min(rates),
        "median": statistics.median(rates),
        "max": max(rates),
        "p99_ms": statistics.median(r.p99_ms for r in results),
        "cpu_us": statistics.median(r.cpu_us_per_request for r in results),
        "errors": sum(r.errors for r in results),
    }


def measure(args: argparse.Namespace, found: dict[str, str | None], work: Path) -> dict[str, Any]:
    n = os.cpu_count() or 1
    server_cpu, client_cpu = ("0", "1") if n >= 2 else ("0", "0")
    os.sched_setaffinity(0, {int(client_cpu)})
    out: dict[str, Any] = {"load_before": os.getloadavg()}
    tls = _pki(work)
    with Supervisor(work / "logs") as sup:
        origin = fixture.start(sup, work, server_cpu)
        clip = fixture.noisy_clip(work / "main.mp4", seconds=6, width=1280, height=720)
        master = origin.upload(clip)
        segment, seg_bytes, playlist, pl_bytes = fixture.pick_objects(origin.url, master)
        out["objects"] = {
            "segment": segment,
            "segment_bytes": seg_bytes,
            "playlist": playlist,
            "playlist_bytes": pl_bytes,
        }
        ours_https, ours_http = ours(sup, work, origin, server_cpu, tls)
        nginx_https, nginx_http = nginx(sup, work, origin, server_cpu, str(found["nginx"]), tls)
        cases = [  # (label, target, path, headers)
            ("segment hit, HTTPS", ours_https, nginx_https, segment, None),
            ("playlist hit, HTTPS", ours_https, nginx_https, playlist, None),
            (
                "playlist hit, HTTPS, new connection each",
                ours_https,
                nginx_https,
                playlist,
                {"connection": "close"},
            ),
            ("segment hit, HTTP", ours_http, nginx_http, segment, None),
            ("playlist hit, HTTP", ours_http, nginx_http, playlist, None),
        ]
        for _, a, b, path, _ in cases:
            warm(a, path, tls["ca_file"])
            warm(b, path, tls["ca_file"])
        raw: dict[str, dict[str, list[wrk.WrkResult]]] = {
            c[0]: {"ours": [], "nginx": []} for c in cases
        }
        for round_ in range(args.runs):  # interleaved: every case, both servers, each round
            for label, a, b, path, headers in cases:
                order = (
                    (("ours", a), ("nginx", b)) if round_ % 2 == 0 else (("nginx", b), ("ours", a))
                )
                for who, target in order:
                    raw[label][who].append(
                        one_wrk(str(found["wrk"]), target, path, client_cpu, args.seconds, headers)
                    )
            print(f"wrk round {round_ + 1}/{args.runs} done")
        out["wrk"] = {
            label: {who: _spread(rs) for who, rs in by.items()} for label, by in raw.items()
        }
        ca = trust(tls["ca_file"])
        port = int(ours_https.url.rsplit(":", 1)[1])
        rounds: dict[str, dict[str, list[tuple[h3.Round, h3.Round]]]] = {
            name: {"h2": [], "h3": []} for name in ("segment", "playlist")
        }
        for round_ in range(args.h3_runs):
            for name, path in (("segment", segment), ("playlist", playlist)):
                for proto in ("h2", "h3") if round_ % 2 == 0 else ("h3", "h2"):
                    if proto == "h2":
                        got = asyncio.run(
                            h3.h2_rounds(
                                ours_https.url,
                                path,
                                ca,
                                args.h3_requests,
                                args.h3_seconds,
                                args.concurrency,
                            )
                        )
                    else:
                        got = asyncio.run(
                            h3.h3_rounds(
                                "127.0.0.1",
                                port,
                                path,
                                tls["ca_file"],
                                args.h3_requests,
                                args.h3_seconds,
                                args.concurrency,
                            )
                        )
                    rounds[name][proto].append(got)
            print(f"h2/h3 round {round_ + 1}/{args.h3_runs} done")
        out["h3"] = {
            name: {
                proto: {
                    "sequential": h3.summary([r[0] for r in rs]),
                    "concurrent": h3.summary([r[1] for r in rs]),
                }
                for proto, rs in by.items()
            }
            for name, by in rounds.items()
        }
    out["load_after"] = os.getloadavg()
    return out


def render(results: dict[str, Any], command: str) -> str:
    """The `## Edge TLS` section."""
    o, env = results["objects"], results["environment"]
    md = [
        "## Edge TLS",
        "",
        f"Measured by `{command}` on {env['date']}, {env['cpus']} cores ({env['cpu']}), "
        f"{env['nginx']}, {env['wrk']}; load average {env['load_before']} before, "
        f"{env['load_after']} after (a shared machine: compare columns of one run).",
        f"Both servers on core 0 (our edge: one hypercorn process serving TLS, HTTP/2 and HTTP/3; "
        f"nginx: one worker), the clients on core 1. Same certificate (ECDSA P-256 leaf + local "
        f"CA), TLS 1.2/1.3 with {POLICY}'s TLS 1.2 ciphers on both, session tickets on. Objects: "
        f"segment `{o['segment']}` ({o['segment_bytes']:,} B), playlist `{o['playlist']}` "
        f"({o['playlist_bytes']:,} B). wrk -t1 -c16, {env['seconds']:g} s per run, "
        f"{env['runs']} rounds; each round runs every row against both servers, alternating "
        "which goes first. Requests/s as min / median / max of the rounds; ratio of medians.",
        "",
        "| workload | ours req/s | nginx req/s | ours/nginx | ours p99 ms | nginx p99 ms "
        "| ours CPU µs/req | nginx CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, by in results["wrk"].items():
        a, b = by["ours"], by["nginx"]
        md.append(
            f"| {label} | {a['min']:,.0f} / **{a['median']:,.0f}** / {a['max']:,.0f} "
            f"| {b['min']:,.0f} / **{b['median']:,.0f}** / {b['max']:,.0f} "
            f"| **{a['median'] / b['median']:.2f}x** | {a['p99_ms']:.2f} | {b['p99_ms']:.2f} "
            f"| {a['cpu_us']:.0f} | {b['cpu_us']:.0f} |"
        )
    w = results["wrk"]
    md.append("")
    for name in ("segment", "playlist"):
        tls_, plain = w[f"{name} hit, HTTPS"], w[f"{name} hit, HTTP"]
        md.append(
            f"- TLS cost, {name} hits (HTTPS / HTTP requests/s, same process): ours "
            f"{tls_['ours']['median'] / plain['ours']['median']:.2f}, nginx "
            f"{tls_['nginx']['median'] / plain['nginx']['median']:.2f}."
        )
    md += [
        "",
        f"HTTP/3 against HTTP/2 on our edge (same HTTPS port number: TCP for h2, UDP for h3), "
        f"one Python client in one process on core 1 (httpx + h2; aioquic), one connection each; "
        f"{env['h3_runs']} interleaved rounds of at most {env['h3_requests']} requests or "
        f"{env['h3_seconds']:g} s per measurement. Back to back: one request in flight "
        f"(latency); concurrent: {env['concurrency']} streams in flight (throughput). The client "
        "is part of what is measured: both libraries are Python, aioquic's QUIC stack more so.",
        "",
        "| object | protocol | back to back req/s (min / median / max) | p50 ms | p99 ms "
        "| concurrent req/s (min / median / max) | concurrent MB/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, by in results["h3"].items():
        for proto in ("h2", "h3"):
            s, c = by[proto]["sequential"], by[proto]["concurrent"]
            md.append(
                f"| {name} | {proto} | {s['min_rps']:,.0f} / **{s['median_rps']:,.0f}** / "
                f"{s['max_rps']:,.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
                f"{c['min_rps']:,.0f} / **{c['median_rps']:,.0f}** / {c['max_rps']:,.0f} | "
                f"{c['median_mb_s']:.2f} |"
            )
    md.append("")
    for name, by in results["h3"].items():
        seq = by["h3"]["sequential"]["median_rps"] / by["h2"]["sequential"]["median_rps"]
        con = by["h3"]["concurrent"]["median_rps"] / by["h2"]["concurrent"]["median_rps"]
        md.append(
            f"- {name} hits, h3/h2 median requests/s: back to back **{seq:.2f}x**, "
            f"concurrent **{con:.2f}x**."
        )
    md += [
        "",
        "Reading these: our HTTPS listener is hypercorn, one process for TLS, HTTP/2 and HTTP/3 "
        "(granian, the plain-HTTP server `make bench` measures, does not serve HTTP/2 or QUIC "
        "here), so the HTTP rows are hypercorn's plain port in the same process; its CPU per "
        "request on HTTP against HTTPS separates what the server costs from what TLS costs. "
        "nginx loses sendfile under TLS (no kTLS), which is most of its segment TLS cost. Our "
        "HTTP/3 bulk transfers are bound by aioquic's Python packet handling at both ends "
        "(hypercorn also drops datagrams past a 10-deep receive queue, which QUIC then resends); "
        "small objects are not.",
    ]
    return "\n".join(md) + "\n"


def main() -> None:
    args = _args()
    if args.render is not None:
        saved = json.loads(args.render.read_text())
        doc.write(args.doc, render(saved, saved["environment"]["command"]))
        print(f"wrote {args.doc}")
        return
    from rich.console import Console

    found = tools.ensure(Console())
    work = Path(tempfile.mkdtemp(prefix="streaming-bench-tls-"))
    started = time.monotonic()
    try:
        results = measure(args, found, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    from bench.__main__ import _version

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    results["environment"] = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "nginx": _version([str(found["nginx"]), "-v"]),
        "wrk": _version([str(found["wrk"]), "-v"]),
        "seconds": args.seconds,
        "runs": args.runs,
        "h3_runs": args.h3_runs,
        "h3_requests": args.h3_requests,
        "h3_seconds": args.h3_seconds,
        "concurrency": args.concurrency,
        "load_before": " ".join(f"{x:.2f}" for x in results["load_before"]),
        "load_after": " ".join(f"{x:.2f}" for x in results["load_after"]),
    }
    command = " ".join(["python -m bench.tls", *sys.argv[1:]])
    results["environment"]["command"] = command
    markdown = render(results, command)
    print(markdown)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str))
    if not args.no_doc:
        doc.write(args.doc, markdown)
        print(f"wrote {args.doc}")
    print(f"results: {args.json} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
