"""Serve an app over HTTPS with HTTP/2 (hypercorn), HTTP/3 beside it, plain HTTP on another port.

uvicorn speaks no HTTP/2, so a process with TLS runs hypercorn for all of its listeners (one
app, one cache); processes without TLS keep uvicorn or granian (`cli.serve`). An edge's HTTP/3
listens on UDP with the HTTPS port's number and is announced by hypercorn's `Alt-Svc: h3=":N"`
on every response. TLS comes from `streaming.tls`: the security policy, SNI, session tickets.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
import ssl

from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.types import ASGIApp, Receive, Scope, Send

from procs.supervisor import port_free
from streaming.config import Distribution, Edge, TlsSettings
from streaming.errors import ConfigError
from streaming.tls import Certificate, SniContexts, load_certificate

ALPN = {"http1.1": ["http/1.1"], "http2": ["h2", "http/1.1"], "http2and3": ["h2", "http/1.1"]}
_HOSTNAME = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


class _TlsConfig(Config):
    """hypercorn's config with our server context (policy, SNI, tickets) instead of its own."""

    contexts: SniContexts

    def create_ssl_context(self) -> ssl.SSLContext | None:
        return self.contexts.default


def certificates(tls: TlsSettings) -> tuple[Certificate, tuple[Certificate, ...]]:
    """The default certificate and the SNI ones, each checked (ConfigError with the reason)."""
    default = load_certificate(tls.cert_file, tls.key_file)
    extra = tuple(
        load_certificate(c.cert_file, c.key_file, f"tls.certificates.{i}")
        for i, c in enumerate(tls.certificates)
    )
    return default, extra


def check_coverage(dist: Distribution, certs: tuple[Certificate, ...]) -> None:
    """Like CloudFront, refuse an alternate domain name that no certificate covers."""
    for name in dist.domain_names:
        probe = "x" + name[1:] if name.startswith("*.") else name
        if not any(c.covers(probe) for c in certs):
            raise ConfigError(
                f"domain_names: no certificate in [tls] covers {name!r}; "
                "run `streaming certs` or add one to tls.certificates"
            )


def tls_config(
    tls: TlsSettings, host: str, https_port: int, http_port: int | None, quic: bool = False
) -> Config:
    """hypercorn's config: TLS on `https_port` (and QUIC on its number), plain on `http_port`."""
    default, extra = certificates(tls)
    config = _TlsConfig()
    config.contexts = SniContexts(default, extra, tls.security_policy, ALPN[tls.http_version])
    config.bind = [f"{host}:{https_port}"]
    config.insecure_bind = [f"{host}:{http_port}"] if http_port is not None else []
    # hypercorn's ssl_enabled, and its QUIC listener, read these two (QUIC: the default only).
    config.certfile, config.keyfile = default.cert_file, default.key_file
    config.alpn_protocols = ALPN[tls.http_version]
    if quic and tls.http_version == "http2and3":
        config.quic_bind = [f"{host}:{https_port}"]
    config.accesslog = None
    config.graceful_timeout = 3
    return config


def udp_free(host: str, port: int) -> bool:
    """True when nothing is bound to the UDP port (QUIC shares the HTTPS port's number)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def serve_tls(
    app: object, tls: TlsSettings, host: str, http_port: int | None, https_port: int,
    quic: bool = False, workers: int = 1,
) -> None:  # fmt: skip
    """Run until SIGINT/SIGTERM, then shut down gracefully (lifespan shutdown runs). One of
    `workers` processes on the same ports: the parent checked them free (`check_ports`)."""
    config = tls_config(tls, host, https_port, http_port, quic)  # bad files fail before binding
    if workers == 1:
        check_ports(config, host, http_port, https_port)
    config.workers = workers  # hypercorn binds with SO_REUSEPORT (TCP and UDP) when above 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(main())


def check_ports(config: Config, host: str, http_port: int | None, https_port: int) -> None:
    for port in (p for p in (http_port, https_port) if p is not None):
        if not port_free(host, port):
            raise ConfigError(f"port {port} on {host} is already in use")
    if config.quic_bind and not udp_free(host, https_port):
        raise ConfigError(f"UDP port {https_port} on {host} (HTTP/3) is already in use")


def check_edge_tls(dist: Distribution, edge: Edge, host: str, http_port: int) -> None:
    """What an edge with an `https_port` needs before it serves (or forks its workers):
    readable certificates covering every domain name, free TCP and UDP ports."""
    assert edge.https_port is not None
    default, extra = certificates(dist.tls)
    check_coverage(dist, (default, *extra))
    config = tls_config(dist.tls, host, edge.https_port, http_port, quic=True)
    check_ports(config, host, http_port, edge.https_port)


def serve_edge_tls(
    app: object, dist: Distribution, edge: Edge, host: str, http_port: int, workers: int = 1
) -> None:
    """An edge with an `https_port`: HTTP/1.1 and HTTP/2 over TLS, HTTP/3 on UDP, plain HTTP."""
    assert edge.https_port is not None
    if workers == 1:
        check_edge_tls(dist, edge, host, http_port)
    serve_tls(app, dist.tls, host, http_port, edge.https_port, quic=True, workers=workers)


def https_redirect(
    app: ASGIApp, https_port: int, default_host: str, keep: frozenset[str]
) -> ASGIApp:
    """Send plain-HTTP requests to the HTTPS port (301 for GET/HEAD, 307 otherwise, as a
    redirect-to-https behavior does); `keep` paths (health checks) stay on plain HTTP."""

    async def redirecting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["scheme"] != "http" or scope["path"] in keep:
            await app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1").rsplit(":", 1)[0]
        if not _HOSTNAME.fullmatch(host):
            host = default_host  # never echo an odd Host into a Location
        path = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        query = scope["query_string"].decode("latin-1")
        location = f"https://{host}:{https_port}{path}" + (f"?{query}" if query else "")
        status = 301 if scope["method"] in ("GET", "HEAD") else 307
        await send({
            "type": "http.response.start", "status": status,
            "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": b""})

    return redirecting
