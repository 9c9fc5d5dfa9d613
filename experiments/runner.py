"""An experiment run: its own topology (origins behind fault proxies) or a running demo's.

Starts the processes, publishes a generated clip, takes reference digests of every VOD object,
then plays the emulated viewers, the fault timeline and the health observer on one clock and
returns the report data (`report.build`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import tomli_w
from rich.console import Console

from experiments import report, timeline, topology
from experiments.controls import Controls
from experiments.faultproxy import FaultProxy
from experiments.observe import Observer
from experiments.scenario import NETWORK_ACTIONS, Scenario
from experiments.viewers import Load, Pathways, Player, StaticPathways, SteeringPathways
from procs.supervisor import Supervisor, free_port
from procs.topology import child_name, start_topology
from streaming.errors import ConfigError, MediaError

console = Console()
TOKEN = "experiment-admin-token"


async def with_topology(scenario: Scenario, out: Path) -> dict[str, Any]:
    """Run `scenario` on a topology of its own: every origin behind a fault proxy."""
    plan = topology.plan(scenario, TOKEN, free_port)
    config = out / "distribution.toml"
    config.write_bytes(tomli_w.dumps(plan.doc).encode())
    from streaming.config import load as load_config

    dist = load_config(config)
    proxies = {
        region: FaultProxy(
            region,
            ("127.0.0.1", plan.proxy_ports[region]),
            ("127.0.0.1", plan.origin_ports[region]),
        )
        for region in plan.proxy_ports
        if plan.proxy_ports[region] != plan.origin_ports[region]
    }
    for proxy in proxies.values():
        await proxy.start()
    controls = Controls(None, {}, proxies)
    try:
        with Supervisor(out / "logs") as sup:
            controls.supervisor = sup
            try:
                return await _run_topology(scenario, out, config, dist, plan, sup, controls)
            finally:
                controls.resume_all()
    finally:
        for proxy in proxies.values():
            await proxy.close()


async def _run_topology(
    scenario: Scenario,
    out: Path,
    config: Path,
    dist: Any,
    plan: topology.Plan,
    sup: Supervisor,
    controls: Controls,
) -> dict[str, Any]:
    # In a thread: the fault proxies run on this event loop while the processes start.
    await asyncio.to_thread(
        start_topology, sup, config, dist, out / "data", origin_ports=plan.origin_ports,
        timeout=60.0,
    )  # fmt: skip
    console.print(f"{len(sup.children)} processes up; publishing content ...")
    origin_urls = [f"http://127.0.0.1:{plan.origin_ports[r]}" for r in scenario.topology.regions]
    if scenario.viewers.content == "live":
        master_path, references = plan.master_path_live, {}
        await _wait_live(origin_urls, master_path, timeout=60)
    else:
        master_path = await _publish(out, origin_urls, scenario.topology.clip_seconds)
        references = await _references(origin_urls[0], master_path)
    edges = [(e.pop, e.url) for e in dist.pops]
    allowed = [e for e in edges if not scenario.viewers.pops or e[0] in scenario.viewers.pops]
    async with httpx.AsyncClient() as client:
        pathways: Pathways = StaticPathways(allowed)
        if scenario.viewers.steering and dist.steering is not None:
            pathways = SteeringPathways(dist.steering.url, [e.region for e in dist.pops], client)
        watched = {e.pop: e.url for e in dist.edges}
        steering = dist.steering.url if dist.steering is not None else None
        return await _play(
            scenario,
            master_path,
            pathways,
            references,
            controls,
            watched,
            _proxy_stats(controls),
            [o.id for o in dist.origins],
            steering=steering,
        )


async def against_demo(scenario: Scenario, state_path: Path, out: Path) -> dict[str, Any]:
    """Run `scenario` against a running `streaming demo` (process faults only, by PID)."""
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--state: cannot read {state_path}: {exc}") from None
    if any(f.action in NETWORK_ACTIONS for f in scenario.faults):
        raise ConfigError(
            "--state: network faults need the experiment's own topology (a demo has no proxies)"
        )
    pids = {child_name("origin", o["region"]): o["pid"] for o in state["origins"]}
    pids |= {child_name("edge", e["pop"]): e["pid"] for e in state["edges"]}
    for fault in scenario.faults:
        child = child_name(fault.kind, fault.name)
        if child not in pids:
            raise ConfigError(f"faults: the demo has no {child}")
    controls = Controls(None, pids)
    edges = [(e["pop"], e["url"]) for e in state["edges"]]
    # A demo over HTTPS: viewers verify its CA; health is watched on the plain listeners.
    verify = ssl.create_default_context(cafile=state["ca_file"]) if state.get("ca_file") else True
    watched = {e["pop"]: e.get("http_url", e["url"]) for e in state["edges"]}
    master_path = state["videos"][0]["master_path"]
    headers = _demo_cookies(state, master_path)
    # Through an edge: the demo's origins may only answer signed edge requests.
    references = await _references(edges[0][1], master_path, headers.get(edges[0][1]), verify)
    try:
        origin_ids = [o["region"] for o in state["origins"]]
        return await _play(
            scenario,
            master_path,
            StaticPathways(edges),
            references,
            controls,
            watched,
            lambda: {},
            origin_ids,
            headers,
            state.get("steering_url"),
            verify,
        )
    finally:
        controls.resume_all()


async def _play(
    scenario: Scenario,
    master_path: str,
    pathways: Pathways,
    references: dict[str, str],
    controls: Controls,
    watched: dict[str, str],
    proxy_stats: Any,
    origin_ids: list[str],
    headers: dict[str, dict[str, str]] | None = None,
    steering: str | None = None,
    verify: ssl.SSLContext | bool = True,
) -> dict[str, Any]:
    """Viewers, fault timeline and health observer on one clock; then the report data."""
    v = scenario.viewers
    load = Load(
        v.count,
        scenario.duration,
        v.mode,
        v.content,
        v.ramp,
        v.max_requests,
        v.request_timeout,
        v.retries,
        v.buffer_segments,
    )
    player = Player(load, master_path, pathways, references, headers, verify)
    t0 = (time.time(), time.monotonic())
    observer = Observer(watched, t0[0], steering=steering)
    stop = asyncio.Event()
    watching = asyncio.create_task(observer.run(stop))
    console.print(
        f"running {v.count} {v.mode} viewers for {scenario.duration:g}s "
        f"with {len(scenario.faults)} faults ..."
    )
    audience, applied = await asyncio.gather(
        player.run(t0), timeline.play(scenario.faults, controls, t0[1])
    )
    stop.set()
    await watching
    return report.build(
        scenario.model_dump(mode="json"),
        audience,
        applied,
        observer.events,
        scenario.duration,
        {
            "proxies": proxy_stats(),
            "master_path": master_path,
            "origin_requests": report.origin_requests(observer.totals, origin_ids),
        },
    )


def _proxy_stats(controls: Controls) -> Any:
    return lambda: {region: vars(p.stats) for region, p in controls.proxies.items()}


async def _publish(out: Path, origin_urls: list[str], seconds: float) -> str:
    """Generate a small clip, upload it to the first origin, wait until every origin has it."""
    from media.runner import ffmpeg_binary
    from media.samples import make_clip

    clip = out / "clip.mp4"
    if not clip.exists():
        await make_clip(ffmpeg_binary(), clip, seconds=seconds, width=320, height=180)
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(timeout=30) as client:
        with clip.open("rb") as fh:
            response = await client.post(
                f"{origin_urls[0]}/videos", files={"file": ("clip.mp4", fh)}, headers=headers
            )
        if response.status_code != 202:
            raise MediaError(f"upload failed: HTTP {response.status_code} {response.text[:200]}")
        video_id = response.json()["id"]
        deadline = time.monotonic() + 120
        pending = set(origin_urls)
        status: dict[str, Any] = {}
        while pending and time.monotonic() < deadline:
            for url in sorted(pending):
                status = (await client.get(f"{url}/videos/{video_id}", headers=headers)).json()
                if status.get("state") == "failed":
                    raise MediaError(f"packaging failed: {status.get('error')}")
                if status.get("state") == "ready":
                    pending.discard(url)
            await asyncio.sleep(0.2)
        if pending:
            raise MediaError(f"video {video_id} not ready on {sorted(pending)} after 120 s")
    return f"/hls/{video_id}/master.m3u8"


async def _wait_live(
    origin_urls: list[str], master_path: str, timeout: float, segments: int = 4
) -> None:
    """Live channels start with the origins; wait until each lists a few segments to join at."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        for url in origin_urls:
            while await _live_segments(client, url, master_path) < segments:
                if time.monotonic() > deadline:
                    raise MediaError(f"live channel not ready on {url} after {timeout:.0f}s")
                await asyncio.sleep(0.3)


async def _live_segments(client: httpx.AsyncClient, url: str, master_path: str) -> int:
    """How many segments the first variant's live playlist lists (0 while it is not there)."""
    import m3u8

    try:
        master = await client.get(url + master_path)
        if master.status_code != 200 or not (variants := m3u8.loads(master.text).playlists):
            return 0
        media = await client.get(f"{url}{master_path.rsplit('/', 1)[0]}/{variants[0].uri}")
        return len(m3u8.loads(media.text).segments) if media.status_code == 200 else 0
    except httpx.HTTPError:
        return 0


def _demo_cookies(state: dict[str, Any], master_path: str) -> dict[str, dict[str, str]]:
    """Signed cookies per edge for a demo whose content is private (the state names the key)."""
    signing = state.get("signing")
    if not signing:
        return {}
    from streaming.keys import load_private_key
    from streaming.policy import Policy
    from streaming.signing import Signer

    signer = Signer(signing["key_pair_id"], load_private_key(Path(signing["private_key"])))
    directory = master_path.rsplit("/", 1)[0]
    headers = {}
    for edge in state["edges"]:
        policy = Policy(
            resource=f"{edge['url']}{directory}/*", date_less_than=int(time.time() + 3600)
        )
        cookies = signer.cookies(policy)
        headers[edge["url"]] = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    return headers


async def _references(
    base_url: str, master_path: str, headers: dict[str, str] | None = None,
    verify: ssl.SSLContext | bool = True,
) -> dict[str, str]:  # fmt: skip
    """sha256 of every VOD object, fetched before any fault, to catch a corrupt or short body."""
    import m3u8

    refs: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=10, headers=headers, verify=verify) as client:

        async def get(path: str) -> bytes:
            body = (await client.get(base_url + path)).content
            refs[path] = hashlib.sha256(body).hexdigest()
            return body

        directory = master_path.rsplit("/", 1)[0]
        master = m3u8.loads((await get(master_path)).decode())
        for variant in master.playlists:
            media_path = f"{directory}/{variant.uri}"
            media = m3u8.loads((await get(media_path)).decode())
            base = media_path.rsplit("/", 1)[0]
            for uri in [s.uri for s in media.segments] + [m.uri for m in media.segment_map or []]:
                await get(f"{base}/{uri}")
    return refs
