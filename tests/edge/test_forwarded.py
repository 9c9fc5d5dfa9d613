"""Trusted proxies: X-Forwarded-For and the geo header count only from configured peers (or, at
the shield, from signed POPs), and the client they name is what every check and log uses."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from edge.app import EdgeApp, create_app
from edge.forwarded import TrustedProxies, parse_address
from procs.supervisor import free_port
from streaming.config import parse
from streaming.errors import ConfigError
from streaming.policy import Policy
from tests.access import key_group, signer
from tests.factories import distribution_doc, write_country_db

pytestmark = pytest.mark.anyio
PROXY = "10.0.0.5"  # the front proxy's address, as the edge's TCP peer
CLIENT = "198.51.100.7"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Origin:
    """Records the X-Forwarded-For of each request it gets."""

    def __init__(self) -> None:
        self.forwarded: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.forwarded.append(Headers(scope=scope).get("x-forwarded-for"))
        await Response(b"TS" * 50, media_type="video/mp2t")(scope, receive, send)


def doc_with(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    doc = distribution_doc(
        key_groups=[key_group("viewers", "alice")],
        behaviors=[
            {"path_pattern": "/private/*", "target": "all", "trusted_key_groups": ["viewers"]},
            {
                "path_pattern": "/limited/*",
                "target": "all",
                "ttl": {"min_ttl": 0, "default_ttl": 0, "max_ttl": 0},
                "rate_limit": {"rate": 0.001, "burst": 1},
            },
            {"path_pattern": "*", "target": "all"},
        ],  # fmt: skip
        **overrides,
    )
    doc["edge"] = {"cache_dir": str(tmp_path / "cache")}
    return doc


@asynccontextmanager
async def viewer(
    app: EdgeApp, peer: str = PROXY, base: str = "http://cdn.test"
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(peer, 4321))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        yield client


def edge(doc: dict[str, Any], origin: Origin, log: Path | None = None, pop: str = "iad") -> EdgeApp:
    transport = httpx.ASGITransport(app=origin)
    return create_app(parse(doc), pop, transport=transport, access_log=str(log) if log else "")


def logged(app: EdgeApp, log: Path) -> list[dict[str, Any]]:
    app.pipeline.access_log.flush()
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_client_is_the_rightmost_address_no_trusted_proxy_vouches_for() -> None:
    """The standard walk from the right: trusted hops are skipped, the first other one wins."""
    proxies = TrustedProxies(["10.0.0.0/24", "192.0.2.1/32"])
    assert proxies.client(PROXY, "", False) == (PROXY, "")
    assert proxies.client(PROXY, f"{CLIENT}", False) == (CLIENT, "")
    assert proxies.client(PROXY, f"1.1.1.1, {CLIENT}, 192.0.2.1", False) == (CLIENT, "1.1.1.1")
    assert proxies.client(PROXY, "10.0.0.9, 10.0.0.8", False) == ("10.0.0.9", "")  # all trusted
    assert proxies.client(PROXY, f"{CLIENT}, junk", False) == (PROXY, f"{CLIENT}, junk")
    assert proxies.client("203.0.113.1", CLIENT, False) == ("203.0.113.1", CLIENT)  # untrusted
    assert proxies.client("203.0.113.1", CLIENT, True) == (CLIENT, "")  # vouched (a signed POP)
    assert TrustedProxies([]).client(PROXY, CLIENT, False) == (PROXY, CLIENT)


def test_forwarded_addresses_are_read_in_the_forms_proxies_write() -> None:
    """Ports, brackets and IPv4-mapped IPv6 are normalised; anything else is not an address."""
    assert str(parse_address(" 192.0.2.1:443 ")) == "192.0.2.1"
    assert str(parse_address("[2001:db8::1]:80")) == "2001:db8::1"
    assert str(parse_address("2001:db8::1")) == "2001:db8::1"
    assert str(parse_address("::ffff:192.0.2.1")) == "192.0.2.1"
    assert parse_address("unknown") is None and parse_address("") is None


def test_a_trusted_proxy_that_is_not_a_cidr_fails_at_start(tmp_path: Path) -> None:
    """trusted_proxies entries are checked when the config loads, naming the entry."""
    with pytest.raises(ConfigError, match=r"trusted_proxies\.1"):
        parse(doc_with(tmp_path, trusted_proxies=["10.0.0.0/8", "proxy.internal"]))


async def test_without_trusted_proxies_the_header_is_ignored_and_the_peer_is_the_client(
    tmp_path: Path,
) -> None:
    """Default: a spoofed X-Forwarded-For and country header change nothing; the peer is logged,
    rate-limited and denied, and the origin sees the claim followed by the peer."""
    origin, log = Origin(), tmp_path / "access.log"
    doc = doc_with(
        tmp_path,
        firewall={"deny_cidrs": [f"{CLIENT}/32"]},
        geo_restriction={"mode": "deny", "countries": ["US"], "country_header": "x-country"},
    )
    app = edge(doc, origin, log)
    spoof = {"x-forwarded-for": CLIENT, "x-country": "US"}
    async with viewer(app) as c:
        assert (await c.get("/a.ts", headers=spoof)).status_code == 200
        assert (
            await c.get("/limited/a.ts", headers={"x-forwarded-for": "1.1.1.1"})
        ).status_code == 200
        second = await c.get("/limited/a.ts", headers={"x-forwarded-for": "2.2.2.2"})
    assert second.status_code == 429  # one bucket: the peer's
    assert origin.forwarded[0] == f"{CLIENT}, {PROXY}"
    assert {line["c-ip"] for line in logged(app, log)} == {PROXY}


async def test_behind_a_trusted_proxy_the_forwarded_client_is_checked_limited_and_logged(
    tmp_path: Path,
) -> None:
    """The client named by the proxy meets the firewall, the rate limit and the policy's
    IpAddress, is logged as c-ip and is the right-most X-Forwarded-For hop the origin sees."""
    origin, log = Origin(), tmp_path / "access.log"
    doc = doc_with(
        tmp_path, trusted_proxies=["10.0.0.0/24"], firewall={"deny_cidrs": ["203.0.113.0/24"]}
    )
    app = edge(doc, origin, log)
    policy = Policy(
        "http://cdn.test/private/*", int(time.time()) + 60, source_ip=IPv4Network(f"{CLIENT}/32")
    )
    pinned = signer("alice").signed_url("http://cdn.test/private/a.ts", policy=policy)
    pinned = pinned.removeprefix("http://cdn.test")
    async with viewer(app) as c:
        ok = await c.get(pinned, headers={"x-forwarded-for": f"1.1.1.1, {CLIENT}"})
        other = await c.get(pinned, headers={"x-forwarded-for": "192.0.2.50"})
        spoofed = await c.get(pinned, headers={"x-forwarded-for": f"{CLIENT}, 192.0.2.50"})
        denied = await c.get("/a.ts", headers={"x-forwarded-for": "203.0.113.9"})
        limited = [
            (await c.get("/limited/a.ts", headers={"x-forwarded-for": ip})).status_code
            for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.1")
        ]
        direct = await c.get("/a.ts")  # the proxy's own request: it is the client
    assert ok.status_code == 200
    assert (other.status_code, other.json()["reason"]) == (403, "ip_not_allowed")
    assert (spoofed.status_code, spoofed.json()["reason"]) == (403, "ip_not_allowed")
    assert (denied.status_code, denied.json()["reason"]) == (403, "ip_denied")
    assert limited == [200, 200, 429]  # a bucket per client, not one for the proxy
    assert direct.status_code == 200
    assert origin.forwarded[0] == f"1.1.1.1, {CLIENT}"
    assert origin.forwarded[-1] == PROXY
    ips = [(line["c-ip"], line["c-port"]) for line in logged(app, log)]
    assert ips[:4] == [(CLIENT, 0), ("192.0.2.50", 0), ("192.0.2.50", 0), ("203.0.113.9", 0)]
    assert ips[-1] == (PROXY, 4321)


async def test_the_geo_header_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    """Deny US by header: from the proxy it blocks, from any other peer it is dropped."""
    origin = Origin()
    geo = {"mode": "deny", "countries": ["US"], "country_header": "CloudFront-Viewer-Country"}
    app = edge(doc_with(tmp_path, geo_restriction=geo, trusted_proxies=[f"{PROXY}/32"]), origin)
    us = {"cloudfront-viewer-country": "US"}
    async with viewer(app) as c:
        blocked = await c.get("/a.ts", headers=us)
    async with viewer(app, peer="203.0.113.1") as c:
        served = await c.get("/a.ts", headers=us)
    assert (blocked.status_code, blocked.json()["reason"]) == (403, "geo_blocked")
    assert served.status_code == 200


async def test_an_unknown_country_is_refused_by_an_allow_list_unless_allowed(
    tmp_path: Path,
) -> None:
    """Allow DE from the database: a DE client passes, one the database does not know is 403
    geo_unknown; with allow_unknown it is served; a deny list serves it anyway."""
    db = write_country_db(tmp_path / "c.mmdb", {"192.0.2.0/24": "DE", "198.51.100.0/24": "US"})
    origin = Origin()

    def app_for(**geo: Any) -> EdgeApp:
        settings = {"database": str(db), **geo}
        doc = doc_with(tmp_path, geo_restriction=settings, trusted_proxies=[f"{PROXY}/32"])
        return edge(doc, origin)

    strict = app_for(mode="allow", countries=["DE"])
    lenient = app_for(mode="allow", countries=["DE"], allow_unknown=True)
    deny = app_for(mode="deny", countries=["US"])
    statuses = []
    for app in (strict, lenient, deny):
        async with viewer(app) as c:
            for ip in ("192.0.2.9", "203.0.113.9", CLIENT):
                response = await c.get("/a.ts", headers={"x-forwarded-for": ip})
                statuses.append((response.status_code, response.json().get("reason", "")
                                 if response.status_code != 200 else ""))  # fmt: skip
    assert statuses == [
        (200, ""), (403, "geo_unknown"), (403, "geo_blocked"),
        (200, ""), (200, ""), (403, "geo_blocked"),
        (200, ""), (200, ""), (403, "geo_blocked"),
    ]  # fmt: skip


async def test_the_shield_takes_the_client_from_a_signed_pop_only(tmp_path: Path) -> None:
    """Viewer → POP → shield → origin, in process: the shield logs the viewer the POP resolved
    and the origin sees it right-most; an unsigned request's X-Forwarded-For is not believed."""
    origin, pop_log, shield_log = Origin(), tmp_path / "pop.log", tmp_path / "shield.log"
    doc = doc_with(tmp_path, trusted_proxies=[f"{PROXY}/32"])
    shield_port = free_port()
    doc["edges"].append(
        {"pop": "shield", "region": "us-east", "port": shield_port, "role": "shield"}
    )
    dist = parse(doc)
    shield_app = create_app(
        dist, "shield", transport=httpx.ASGITransport(app=origin), access_log=str(shield_log)
    )
    pop_app = create_app(
        dist, "iad", transport=Routed(shield_port, shield_app, origin), access_log=str(pop_log)
    )
    async with viewer(pop_app) as c:
        response = await c.get("/seg.ts", headers={"x-forwarded-for": f"1.1.1.1, {CLIENT}"})
    assert response.status_code == 200, response.text
    assert origin.forwarded == [f"1.1.1.1, {CLIENT}"]
    assert logged(shield_app, shield_log)[0]["c-ip"] == CLIENT
    assert logged(pop_app, pop_log)[0]["c-ip"] == CLIENT
    async with viewer(shield_app, peer="203.0.113.1") as c:
        unsigned = await c.get("/seg.ts", headers={"x-forwarded-for": CLIENT})
    assert unsigned.status_code == 403
    assert logged(shield_app, shield_log)[-1]["c-ip"] == "203.0.113.1"


class Routed(httpx.AsyncBaseTransport):
    """The POP's one origin client: the shield's port reaches the shield app (whose TCP peer is
    then an address no trusted proxy covers), every other URL the origin."""

    def __init__(self, shield_port: int, shield_app: EdgeApp, origin: Origin) -> None:
        self.port = shield_port
        self.shield = httpx.ASGITransport(app=shield_app, client=("10.9.9.9", 5555))  # type: ignore[arg-type]
        self.origin = httpx.ASGITransport(app=origin)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        chosen = self.shield if request.url.port == self.port else self.origin
        return await chosen.handle_async_request(request)
