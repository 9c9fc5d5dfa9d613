"""The caches under test, each started on the same pinned core in front of the same counter."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bench.fixture import Origin, distribution, write_toml
from procs.supervisor import Child, Supervisor, cli_argv, free_port

MEMORY_TIER = 256 * 1024 * 1024


@dataclass
class Running:
    """A started cache: where to send viewers and how it marks a hit."""

    name: str
    url: str
    child: Child
    hit_header: str  # response header whose value says hit
    hit_value: str  # prefix of that value on a hit


def ours(
    sup: Supervisor, work: Path, origin: Origin, cpu: str, server: str, workers: int | None = 1,
    access_log: bool = False, **extra: object,
) -> Running:  # fmt: skip
    """Our edge under `server` (granian, granian-rsgi or uvicorn), memory tier 256 MiB, with
    `workers` processes (None: the flag is not passed) and, if asked, its access log on."""
    port = free_port()
    edge: dict[str, object] = {"memory_cache_bytes": MEMORY_TIER}
    edge.update(extra.pop("edge", None) or {})  # type: ignore[call-overload]
    doc = distribution(origin.counter_url, port, edge=edge, **extra)
    label = f"{server}-{workers}-{port}"
    config = write_toml(work / f"edge-{label}.toml", doc)
    log = str(work / f"edge-{label}.log") if access_log else ""
    cache = str(work / f"edge-{label}-cache")
    argv = cli_argv("edge", "--config", str(config), "--pop", "bench", "--cache-dir", cache,
                    "--server", server, "--access-log", log)  # fmt: skip
    if workers is not None:  # never left to STREAMING_EDGE_WORKERS or the core count
        argv += ["--workers", str(workers)]
    url = f"http://127.0.0.1:{port}"
    child = sup.start(f"ours-{label}", ["taskset", "-c", cpu, *argv], f"{url}/healthz")
    sup.wait_healthy(child, timeout=60)
    name = f"ours ({server})" if workers in (None, 1) else f"ours ({server}, {workers} workers)"
    return Running(name, url, child, "x-cache", "Hit")


def signed(
    sup: Supervisor, work: Path, origin: Origin, cpu: str, access_log: bool = False
) -> tuple[Running, dict[str, str]]:
    """Our edge (granian) with every /hls/ behavior behind a trusted key group, and the
    CloudFront cookies a logged-in viewer would carry for the whole /hls/ tree; with the access
    log on, this is the configuration of the demo, which users load-test."""
    from streaming import keys
    from streaming.policy import Policy
    from streaming.signing import Signer

    private = keys.generate("rsa")
    kid = keys.key_id(private.public_key())
    doc = distribution(origin.counter_url, 0)
    behaviors = [
        {**b, "trusted_key_groups": ["viewers"]} if b["path_pattern"].startswith("/hls/") else b
        for b in doc["behaviors"]
    ]
    group = {
        "id": "viewers",
        "keys": [{"id": kid, "public_key": keys.public_pem(private.public_key())}],
    }
    running = ours(
        sup, work, origin, cpu, "granian", access_log=access_log, behaviors=behaviors,
        key_groups=[group],
    )  # fmt: skip
    running.name = (
        "ours (demo-like: cookies + access log)" if access_log else "ours (granian, signed cookies)"
    )
    policy = Policy(resource=f"{running.url}/hls/*", date_less_than=int(time.time()) + 86400)
    cookies = Signer(kid, private).cookies(policy)
    return running, {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


NGINX_CONF = """\
{user}worker_processes {workers};
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    proxy_cache_path {work}/nginx-cache levels=1:2 keys_zone=hls:32m \
max_size=1g inactive=1h use_temp_path=off;
    upstream origin {{ server {origin}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /healthz {{ proxy_pass http://origin; }}
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache hls;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 10s;
            proxy_cache_valid 200 1h;
            proxy_cache_use_stale updating;
            add_header X-Cache-Status $upstream_cache_status;
        }}
    }}
}}
"""


def nginx(
    sup: Supervisor, work: Path, origin: Origin, cpu: str, binary: str, workers: int = 1
) -> Running:
    """nginx proxy_cache (`workers` worker processes, sendfile, cache lock) configured as a CDN
    edge would be."""
    port = free_port()
    home = work / f"nginx-{workers}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must write the cache directory
    conf = home / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        user=user, work=home, origin=origin.counter_url.removeprefix("http://"), port=port,
        workers=workers,
    ))  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    argv = ["taskset", "-c", cpu, binary, "-c", str(conf), "-e", str(home / "nginx-error.log")]
    child = sup.start(f"nginx-{workers}", argv, f"{url}/healthz")
    sup.wait_healthy(child, timeout=30)
    name = "nginx proxy_cache" if workers == 1 else f"nginx proxy_cache ({workers} workers)"
    return Running(name, url, child, "x-cache-status", "HIT")


VCL = """\
vcl 4.1;
backend origin {{ .host = "127.0.0.1"; .port = "{origin_port}"; }}
sub vcl_recv {{
    if (req.url == "/healthz") {{ return (pass); }}
    unset req.http.Cookie;
}}
sub vcl_deliver {{
    if (obj.hits > 0) {{ set resp.http.X-Cache = "HIT"; }} \
else {{ set resp.http.X-Cache = "MISS"; }}
}}
"""


def varnish(sup: Supervisor, work: Path, origin: Origin, cpu: str, binary: str) -> Running:
    """Varnish with a 256 MiB malloc store and a minimal VCL (honours the origin's TTLs)."""
    port = free_port()
    name = work / "varnish"
    shutil.rmtree(name, ignore_errors=True)
    name.mkdir(parents=True)
    vcl = work / "bench.vcl"
    vcl.write_text(VCL.format(origin_port=origin.counter_url.rsplit(":", 1)[1]))
    for path in (work, name, vcl):  # varnishd drops root for its own users, which must read these
        os.chmod(path, 0o755)
    url = f"http://127.0.0.1:{port}"
    argv = ["taskset", "-c", cpu, binary, "-F", "-a", f"127.0.0.1:{port}", "-f", str(vcl),
            "-s", f"malloc,{MEMORY_TIER // 1024 // 1024}m", "-n", str(name),
            "-p", "thread_pools=1"]  # fmt: skip
    child = sup.start("varnish", argv, f"{url}/healthz")
    sup.wait_healthy(child, timeout=60)
    return Running("Varnish", url, child, "x-cache", "HIT")
