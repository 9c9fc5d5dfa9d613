"""`streaming demo`: the whole local topology as separate processes, ready to play."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from rich.console import Console

from cli.demo_tls import check_https_ports, prepare, serves_https, trust_lines
from cli.keys import demo_signing_key
from cli.try_it import streaming_command, try_it
from cli.upload import upload_file
from procs.supervisor import Supervisor, cli_argv, port_free
from procs.topology import start_topology
from streaming.config import Distribution
from streaming.errors import ConfigError, MediaError
from streaming.secret_files import write_private

console = Console()


class _Stop(Exception):
    """Raised by the signal handler to unwind into the supervisor's cleanup."""


def _check_ports(dist: Distribution) -> None:
    for origin in dist.origins:
        if not port_free(origin.host, origin.port):
            raise ConfigError(f"port {origin.port} for origin {origin.id} is already in use")
    for edge in dist.edges:
        if not port_free(edge.host, edge.port):
            raise ConfigError(f"port {edge.port} for edge {edge.pop} is already in use")
    if not port_free(dist.portal.host, dist.portal.port):
        raise ConfigError(f"port {dist.portal.port} for the portal is already in use")
    if dist.control is not None and not port_free(dist.control.host, dist.control.port):
        raise ConfigError(f"port {dist.control.port} for the control plane is already in use")
    if dist.steering is not None and not port_free(dist.steering.host, dist.steering.port):
        raise ConfigError(f"port {dist.steering.port} for the steering service is already in use")


def _sample(work: Path) -> Path:
    from media.runner import ffmpeg_binary
    from media.samples import make_clip

    out = work / "sample.mp4"
    if not out.exists():
        console.print("generating a 12 s 1280x720 sample clip with ffmpeg lavfi ...")
        asyncio.run(make_clip(ffmpeg_binary(), out, seconds=12, width=1280, height=720))
    return out


def _wait_ready_everywhere(
    dist: Distribution, video_id: str, sup: Supervisor, timeout: float = 300
) -> None:
    """A video is playable through every edge once each regional origin lists it ready."""
    deadline = time.monotonic() + timeout
    pending = {o.url for o in dist.origins}
    auth = {"authorization": f"Bearer {dist.admin_token.reveal()}"}  # the job API is not public
    while pending and time.monotonic() < deadline:
        if dead := sup.dead():
            raise MediaError(f"{dead[0].name} died; see {dead[0].log_path}")
        for url in sorted(pending):
            state = httpx.get(f"{url}/videos/{video_id}", headers=auth, timeout=5.0)
            if state.status_code == 200 and state.json()["state"] == "ready":
                pending.discard(url)
            elif state.status_code == 200 and state.json()["state"] == "failed":
                raise MediaError(f"packaging failed: {state.json()['error']}")
        time.sleep(0.3)
    if pending:
        raise MediaError(f"video {video_id} not ready in every region after {timeout:.0f}s")


def run_demo(
    config: Path, media: Path | None, state_path: Path, exit_when_ready: bool,
    plain_http: bool = False,
) -> None:  # fmt: skip
    """Start origins and edges, publish a video, print and save every URL, run until a signal."""
    started = time.monotonic()
    if media is not None and not media.is_file():
        raise ConfigError(f"--media: no such file {media}")
    config, dist = prepare(config, state_path.parent, plain_http)  # HTTPS: certificates issued
    _check_ports(dist)
    check_https_ports(dist)
    signing = demo_signing_key(dist)  # before the edges start: they load the public key
    work = state_path.parent
    data = work / "data"

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise _Stop()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Supervisor(work / "logs") as sup:
            topology = start_topology(sup, config, dist, data, access_logs=True)
            origins, edges = topology.origins, topology.edges
            console.print(f"[green]{len(origins)} origins and {len(edges)} edges are up[/]")

            clip = media or _sample(work)
            primary = dist.origins[0]
            video_id = upload_file(clip, primary.url, dist.admin_token.reveal(), wait=True)
            _wait_ready_everywhere(dist, video_id, sup)
            master = f"/hls/{video_id}/master.m3u8"
            state = {
                # argv lets the portal's demo controls restart a process they killed.
                "origins": [
                    {"region": o.region, "url": o.url, "pid": c.pid, "argv": c.argv}
                    for o, c in origins
                ],
                # url: where viewers go (HTTPS when served); http_url: health and /metrics.
                "edges": [
                    {"pop": e.pop, "region": e.region, "url": e.viewer_url, "http_url": e.url,
                     "pid": c.pid, "argv": c.argv}
                    for e, c in edges
                ],  # fmt: skip
                "player_url": f"{dist.portal.viewer_url}/player",
                # The CA that signs the HTTPS certificates: loadtest and experiment trust it.
                "ca_file": dist.tls.ca_file if serves_https(dist) else "",
                "admin_token": dist.admin_token.reveal(),
                "config": str(config.resolve()),
                "videos": [{"id": video_id, "master_path": master}],
                "live": [
                    {"channel": c.name, "master_path": f"/live/{c.name}/master.m3u8"}
                    for c in dist.live_channels
                ],
                "signing": signing,  # the portal's login signs viewer cookies with this key
                "steering_url": dist.steering.url if dist.steering is not None else "",
                "control_url": dist.control.url if dist.control is not None else None,
            }
            state_path.parent.mkdir(parents=True, exist_ok=True)
            # The state names the signing key and the admin token: owner-only, like the key.
            write_private(state_path, json.dumps(state, indent=2).encode())
            # The portal reads the state file (processes for its controls, the signing key).
            portal_argv = cli_argv("portal", "--config", str(config), "--state", str(state_path))
            sup.wait_healthy(sup.start("portal", portal_argv, f"{dist.portal.url}/healthz"))
            _print_urls(state, time.monotonic() - started, state_path)
            if exit_when_ready:
                return
            reported: set[str] = set()
            while True:
                for child in sup.dead():
                    if child.name not in reported:
                        reported.add(child.name)
                        console.print(f"[red]{child.name} exited; see {child.log_path}[/]")
                time.sleep(1.0)
    except _Stop:
        console.print("stopping every process ...")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_urls(state: Mapping[str, Any], elapsed: float, state_path: Path) -> None:
    streaming = streaming_command()  # every command printed runs as shown in a fresh shell
    console.print(f"\n[bold green]ready[/] in {elapsed:.1f}s — state written to {state_path}\n")
    for o in state["origins"]:
        console.print(f"  origin {o['region']:<12} {o['url']}  (pid {o['pid']})")
    for e in state["edges"]:
        plain = f", plain HTTP {e['http_url']}" if e.get("http_url", e["url"]) != e["url"] else ""
        console.print(
            f"  edge   {e['pop']:<12} {e['url']}  (pid {e['pid']}, {e['region']}{plain})"
        )
    for v in state["videos"]:
        for e in state["edges"]:
            console.print(f"  play via {e['pop']}: {e['url']}{v['master_path']}")
    for channel in state.get("live", []):
        console.print(
            f"  live {channel['channel']}: {state['edges'][0]['url']}{channel['master_path']}"
        )
    if state.get("steering_url"):
        console.print(
            f"  steering: {state['steering_url']}/steer/<path>?region=eu-west  "
            "(nearest healthy POP)"
        )
    console.print(
        f"  player: {state['player_url']}  "
        f"(library and upload: {state['player_url'].rsplit('/', 1)[0]}/)"
    )
    if state.get("signing"):
        key = state["signing"]["private_key"]
        console.print(
            "  content is private: log in on the player page, or "
            f"`{streaming} sign url <url> --key {key}`"
        )
    if state.get("control_url"):
        console.print(
            f"  invalidate: {streaming} invalidate '/hls/<id>/*' --config {state['config']}"
            f"  (control plane {state['control_url']})"
        )
        console.print(
            f"  usage and bill: {streaming} report {state_path.parent}/data/edge/*/access.log "
            f"--config {state['config']} --control-data {state_path.parent}/data/control"
        )
    if state.get("ca_file"):
        example = f"{state['edges'][0]['url']}/healthz"
        console.print(
            f"\n[bold]HTTPS[/] by the local CA {state['ca_file']} (plain HTTP redirects; "
            f"`{streaming} demo --plain-http` runs without TLS). Trust it:"
        )
        for tool, command in trust_lines(state["ca_file"], example):
            console.print(f"  {tool:<14} {command}", soft_wrap=True, highlight=False, markup=False)
    console.print("\n[bold]try it[/] (copy-paste, from this directory, in any shell):")
    for use, command in try_it(state, state_path, streaming):
        console.print(f"  {use:<22} {command}", soft_wrap=True, highlight=False, markup=False)
    console.print("\nCtrl-C stops everything.")

