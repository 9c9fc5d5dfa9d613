"""The one-line cause of a failing run, from errors grouped by status and the edge's reason."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path
from typing import Any

from loadtest.client import Client, error_reason
from loadtest.diagnosis import diagnose
from tests.tls import tls_section


def report(requests: int, failures: dict[str, int]) -> dict[str, Any]:
    return {"requests": requests, "errors": sum(failures.values()), "failures": failures}


def test_error_bodies_give_the_edges_reason() -> None:
    """The reason of `{"error", "detail", "reason"}`, else the code; "" for anything else."""
    body = b'{"error": "access_denied", "detail": "no key", "reason": "missing"}'
    assert error_reason(body) == "missing"
    assert error_reason(b'{"error": "not_found", "detail": "x"}') == "not_found"
    assert error_reason(b"<html>") == "" and error_reason(b"[1]") == ""


def test_a_healthy_run_has_no_diagnosis() -> None:
    """A few percent of errors is noise, not a failed run."""
    assert diagnose(report(100, {})) is None
    assert diagnose(report(100, {"timeout": 2})) is None


def test_the_most_common_failure_is_named_with_its_fix() -> None:
    """All refused as unsigned: the private-content hint; a share: how many of how many."""
    assert diagnose(report(12, {"403 missing": 12})) == (
        "all 403 `missing`: the content is private; "
        "pass --sign-key/--key-pair-id or --demo with a signing key"
    )
    line = diagnose(report(100, {"403 expired": 30, "404 not_found": 5}))
    assert line is not None and line.startswith("30 of 100 403 `expired`: ")
    assert "is the demo" in (diagnose(report(10, {"connect": 10})) or "")
    assert "logs" in (diagnose(report(10, {"502 origin_unreachable": 10})) or "")
    assert diagnose(report(0, {})) is not None


def test_an_untrusted_edge_certificate_is_named_with_its_fix(tmp_path: Path) -> None:
    """An HTTPS edge whose CA the client lacks: every fetch is a `certificate` failure (not a
    `connect` one: the edge answers) and the diagnosis says to pass --cacert; with it, 200."""
    tls = tls_section(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tls["cert_file"], tls["key_file"])

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    async def fetch(ca_file: str) -> str:
        server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_ctx)
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/x"
        async with server, Client(1, 5, ca_file) as client:
            return (await client.get(url, {}, keep_body=False)).status

    assert asyncio.run(fetch("")) == "certificate"
    assert "--cacert" in (diagnose(report(10, {"certificate": 10})) or "")
    assert asyncio.run(fetch(tls["ca_file"])) == "200"
