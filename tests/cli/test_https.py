"""Serving over TLS: which listeners hypercorn gets, certificate coverage, the HTTPS redirect."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from cli.https import certificates, check_coverage, https_redirect, tls_config
from streaming.config import TlsSettings, parse
from streaming.errors import ConfigError
from tests.factories import distribution_doc
from tests.tls import tls_section


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsSettings:
    out = tmp_path_factory.mktemp("pki")
    return TlsSettings(**tls_section(out, ("cdn.demo.test", "localhost")))


def test_http3_listens_on_the_https_port_number_unless_the_distribution_says_http2(
    tls: TlsSettings,
) -> None:
    both = tls_config(tls, "127.0.0.1", 8443, 8201, quic=True)
    assert (both.bind, both.insecure_bind, both.quic_bind) == (
        ["127.0.0.1:8443"], ["127.0.0.1:8201"], ["127.0.0.1:8443"],
    )  # fmt: skip
    h2_only = tls.model_copy(update={"http_version": "http2"})
    assert tls_config(h2_only, "127.0.0.1", 8443, 8201, quic=True).quic_bind == []
    assert tls_config(tls, "127.0.0.1", 8443, None).quic_bind == []  # origins, the portal
    old = tls.model_copy(update={"http_version": "http1.1"})
    assert tls_config(old, "127.0.0.1", 8443, None).alpn_protocols == ["http/1.1"]


def test_an_alternate_domain_name_without_a_certificate_is_refused(tls: TlsSettings) -> None:
    default, extra = certificates(tls)
    dist = parse(distribution_doc(domain_names=["cdn.demo.test", "shop.example.test"]))
    with pytest.raises(ConfigError, match="no certificate in \\[tls\\] covers 'shop.example.test'"):
        check_coverage(dist, (default, *extra))
    check_coverage(parse(distribution_doc(domain_names=["cdn.demo.test"])), (default,))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_plain_http_is_redirected_except_the_health_check() -> None:
    async def page(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = [Route("/healthz", page), Route("/player", page, methods=["GET", "POST"])]
    app = Starlette(routes=routes)
    wrapped = https_redirect(app, 8340, "127.0.0.1", frozenset({"/healthz"}))
    transport = httpx.ASGITransport(app=wrapped)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8300") as c:
        get = await c.get("/player?video=v1")
        post = await c.post("/player")
        odd = await c.get("/player", headers={"host": "evil.test/x:1"})
        health = await c.get("/healthz")
    async with httpx.AsyncClient(transport=transport, base_url="https://localhost:8340") as c:
        secure = await c.get("/player")
    assert (get.status_code, get.headers["location"]) == (
        301, "https://localhost:8340/player?video=v1",
    )  # fmt: skip
    assert (post.status_code, post.headers["location"]) == (307, "https://localhost:8340/player")
    assert odd.headers["location"] == "https://127.0.0.1:8340/player"
    assert health.text == "ok" and secure.text == "ok"
