"""The `streaming` command line: the composition root that wires origin and edge into processes.

The only package that may import every other one (`origin`, `edge`, `media`, ...), lazily,
inside the commands that run them; nothing imports it. Each command parses its arguments here
and hands them to a module of its own (`cli/serve.py`, `cli/demo.py`, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.certs import run_certs
from cli.keys import keys_app
from cli.sign import sign_app
from streaming.errors import StreamingError
from streaming.hls import Container, Encryption

app = typer.Typer(
    name="streaming",
    help="A video CDN you can run locally: HLS packaging origins and caching edge POPs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)
app.add_typer(keys_app, name="keys")
app.add_typer(sign_app, name="sign")
app.command("certs")(run_certs)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Distribution TOML file.")]
HostOpt = Annotated[str, typer.Option(help="Address to listen on.")]
PortOpt = Annotated[int | None, typer.Option(help="Port (default: from the config).")]


@app.command()
def origin(
    config: ConfigOpt,
    region: Annotated[str, typer.Option(help="Which regional origin of the config to run.")],
    host: HostOpt = "127.0.0.1",
    port: PortOpt = None,
    data: Annotated[Path | None, typer.Option(help="Data directory (jobs, uploads, HLS).")] = None,
) -> None:
    """Run one regional origin server."""
    from cli.serve import serve_origin

    serve_origin(config, region, host, port, data)


@app.command()
def packager(
    config: ConfigOpt,
    host: HostOpt = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port of /healthz and /metrics (8150).")] = None,
    data: Annotated[Path | None, typer.Option(help="Scratch directory.")] = None,
    worker_id: Annotated[
        str | None, typer.Option("--id", help="Worker id (default: host-pid), shown per chunk.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=16, help="Tasks run at once.")] = 1,
) -> None:
    """Run a packager worker: takes packaging tasks from the queue engine (origin.queue)."""
    from cli.packager import serve_packager

    serve_packager(config, host, port, data, worker_id, concurrency)


@app.command()
def edge(
    config: ConfigOpt,
    pop: Annotated[str, typer.Option(help="Which edge POP of the config to run.")],
    host: HostOpt = "127.0.0.1",
    port: PortOpt = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Disk cache directory.")] = None,
    access_log: Annotated[
        str | None, typer.Option(help="JSON-lines access log: a file, '-' for stdout.")
    ] = None,
    server: Annotated[
        str, typer.Option(help="HTTP server: granian (default, faster) or uvicorn.")
    ] = "granian",
    workers: Annotated[
        int | None,
        typer.Option(
            envvar="STREAMING_EDGE_WORKERS",
            help="Processes on the one port, acting as one POP (default: edge.workers, else "
            "one per CPU core).",
        ),
    ] = None,
) -> None:
    """Run one edge POP."""
    from cli.serve import serve_edge

    serve_edge(config, pop, host, port, cache_dir, access_log, server, workers)


@app.command()
def portal(
    config: ConfigOpt,
    state: Annotated[
        Path | None, typer.Option(help="The demo's state file: enables kill/restore controls.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address (default: from the config).")] = None,
    port: PortOpt = None,
) -> None:
    """Run the demo web portal: library, player with delivery overlay, uploads, telemetry."""
    from cli.portal import serve_portal

    serve_portal(config, state, host, port)


@app.command()
def secrets(config: ConfigOpt) -> None:
    """Create every secret file the config names (tokens, key pairs) that does not exist yet."""
    from cli.secrets import run_secrets

    run_secrets(config)


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(help="Video file to upload.")],
    origin: Annotated[str, typer.Option(help="Origin base URL, e.g. http://127.0.0.1:8101")],
    token: Annotated[
        str | None, typer.Option(envvar="STREAMING_ADMIN_TOKEN", help="Admin bearer token.")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Show packaging progress until ready.")] = False,
    encryption: Annotated[
        Encryption | None,
        typer.Option(help="AES-128 segment encryption for this video (default: the origin's)."),
    ] = None,
    container: Annotated[
        Container | None,
        typer.Option(help="Segment container, fmp4 adds a DASH manifest (default: the origin's)."),
    ] = None,
) -> None:
    """Upload a video to an origin with a progress bar (and wait for packaging)."""
    from cli.upload import upload_file

    upload_file(
        file, origin, token, wait, encryption.value if encryption else None,
        container.value if container else None,
    )  # fmt: skip


@app.command()
def demo(
    config: ConfigOpt = Path("config/demo.toml"),
    media: Annotated[
        Path | None, typer.Option(help="Video to publish (default: generated).")
    ] = None,
    state: Annotated[Path, typer.Option(help="Where to write the demo's URLs as JSON.")] = Path(
        ".demo/state.json"
    ),
    exit_when_ready: Annotated[
        bool, typer.Option(help="Stop everything once ready (for smoke tests).")
    ] = False,
    plain_http: Annotated[
        bool, typer.Option(help="Serve edges and the portal over plain HTTP only (no TLS).")
    ] = False,
) -> None:
    """Start the whole local topology, publish a video, print every URL, run until Ctrl-C."""
    from cli.demo import run_demo

    run_demo(config, media, state, exit_when_ready, plain_http)


@app.command()
def loadtest(
    urls: Annotated[
        list[str] | None,
        typer.Argument(help="Master playlist URL(s) on edges; viewers are spread over them."),
    ] = None,
    demo: Annotated[
        Path | None,
        typer.Option(help="Use a running demo's state file: every edge, its video, all /metrics."),
    ] = None,
    viewers: Annotated[int, typer.Option(help="Concurrent emulated viewers.")] = 10,
    duration: Annotated[float, typer.Option(help="Run length in seconds (a hard bound).")] = 30.0,
    max_requests: Annotated[int | None, typer.Option(help="Stop after this many requests.")] = None,
    ramp_up: Annotated[float, typer.Option(help="Seconds over which viewers start.")] = 0.0,
    mode: Annotated[
        str, typer.Option(help="realtime (player pace, QoE estimates) or stress (back to back).")
    ] = "realtime",
    rendition: Annotated[
        str, typer.Option(help="abr, lowest, highest or a variant index.")
    ] = "abr",
    buffer_goal: Annotated[
        float, typer.Option(help="Seconds a real-time viewer keeps buffered.")
    ] = 30.0,
    timeout: Annotated[float, typer.Option(help="Per-request timeout in seconds.")] = 10.0,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the viewers.")] = 1,
    cookie: Annotated[
        str | None, typer.Option(help="Cookie header to send, e.g. CloudFront-Policy=...; ...")
    ] = None,
    sign_key: Annotated[
        Path | None, typer.Option(help="Private key PEM: sign CloudFront cookies per target.")
    ] = None,
    key_pair_id: Annotated[str | None, typer.Option(help="Public key id for --sign-key.")] = None,
    allow_remote: Annotated[
        bool, typer.Option(help="Allow targets outside 127.0.0.0/8 and localhost.")
    ] = False,
    metrics: Annotated[
        list[str] | None,
        typer.Option("--metrics", help="Server base URL whose /metrics is scraped (repeat)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the report as JSON here.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG timeline here.")] = None,
    cacert: Annotated[
        Path | None, typer.Option(help="CA file for https:// targets (--demo: the demo's CA).")
    ] = None,
) -> None:
    """Emulate HLS viewers against edges and report throughput, latency, hits and QoE."""
    from cli.loadtest import run_loadtest

    run_loadtest(
        urls or [], demo, viewers, duration, max_requests, ramp_up, mode, rendition, buffer_goal,
        timeout, workers, cookie, sign_key, key_pair_id, allow_remote, metrics or [], json_out,
        plot, cacert,
    )  # fmt: skip


@app.command()
def steering(
    config: ConfigOpt,
    host: Annotated[str | None, typer.Option(help="Address (default: from the config).")] = None,
    port: PortOpt = None,
) -> None:
    """Run the regional steering service: viewers to the nearest healthy edge POP."""
    from cli.steering import serve_steering

    serve_steering(config, host, port)


@app.command()
def experiment(
    scenario: Annotated[
        str, typer.Argument(help="SCENARIO.toml, or a shipped name: primary-dies, ...")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Report directory (default: .experiments/NAME-TIME).")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="Run against a running demo's state file instead.")
    ] = None,
    viewers: Annotated[
        int | None, typer.Option(help="Override the scenario's viewer count.")
    ] = None,
) -> None:
    """Run a failover experiment: topology, emulated viewers, timed faults, report + PNG."""
    from cli.experiment import run_experiment

    run_experiment(scenario, out, state, viewers)


@app.command()
def control(
    config: ConfigOpt,
    host: Annotated[str | None, typer.Option(help="Address (default: from the config).")] = None,
    port: PortOpt = None,
    data: Annotated[
        Path | None, typer.Option(help="Data directory (the invalidation database).")
    ] = None,
) -> None:
    """Run the control plane: invalidations recorded durably and fanned out to every edge."""
    from cli.control import serve_control

    serve_control(config, host, port, data)


@app.command()
def invalidate(
    paths: Annotated[list[str], typer.Argument(help="Paths to invalidate: /exact or /prefix*.")],
    config: ConfigOpt,
    wait: Annotated[bool, typer.Option(help="Wait until every edge applied it.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for completion.")] = 60.0,
    caller_reference: Annotated[
        str | None, typer.Option(help="Idempotency key: repeating it returns the same batch.")
    ] = None,
) -> None:
    """Remove cached objects from every edge POP (quote wildcards: '/hls/abc/*')."""
    from cli.invalidate import invalidate as run

    run(config, paths, wait, timeout, caller_reference)


@app.command()
def report(
    logs: Annotated[list[Path], typer.Argument(help="Edge access logs (JSON lines).")],
    config: ConfigOpt,
    top: Annotated[int, typer.Option(help="How many top objects to list.")] = 10,
    month: Annotated[
        str | None, typer.Option(help="Only this month, YYYY-MM (default: everything).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    control_data: Annotated[
        Path | None, typer.Option(help="Control plane data dir (invalidations billed).")
    ] = None,
) -> None:
    """Usage report per distribution and POP, with an estimated bill from the price table."""
    from cli.report import run_report

    run_report(config, logs, top, month, json_out, control_data)


def main() -> None:
    """Console-script entry: one clear line and a non-zero exit for every expected failure."""
    try:
        app()
    except StreamingError as exc:
        err.print(f"[bold red]error:[/] {exc.detail}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
