"""Serve an app over HTTPS with HTTP/2 (hypercorn), optionally beside plain HTTP on another port.

uvicorn speaks no HTTP/2, so a process with TLS runs hypercorn for both of its listeners (one
app, one cache); processes without TLS keep uvicorn (`cli.serve`).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config

from procs.supervisor import port_free
from streaming.config import TlsSettings
from streaming.errors import ConfigError


def tls_config(tls: TlsSettings, host: str, https_port: int, http_port: int | None) -> Config:
    """hypercorn's config: TLS (ALPN h2, http/1.1) on `https_port`, plain HTTP on `http_port`."""
    for field in ("cert_file", "key_file"):
        path = getattr(tls, field)
        if not path:
            raise ConfigError(f"tls.{field} is not set; run `streaming certs`")
        try:
            open(path, "rb").close()
        except OSError as exc:
            raise ConfigError(
                f"tls.{field}: cannot read {path} ({exc.strerror}); run `streaming certs`"
            ) from None
    config = Config()
    config.bind = [f"{host}:{https_port}"]
    config.insecure_bind = [f"{host}:{http_port}"] if http_port is not None else []
    config.certfile, config.keyfile = tls.cert_file, tls.key_file
    config.alpn_protocols = ["h2", "http/1.1"]
    config.accesslog = None
    config.graceful_timeout = 3
    return config


def serve_tls(
    app: object, tls: TlsSettings, host: str, http_port: int | None, https_port: int
) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully (lifespan shutdown runs)."""
    for port in (p for p in (http_port, https_port) if p is not None):
        if not port_free(host, port):
            raise ConfigError(f"port {port} on {host} is already in use")
    config = tls_config(tls, host, https_port, http_port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(main())
