"""Credentials never reach a log line: signed-URL values, CloudFront cookies, Authorization and
JWTs are absent from the access log and every other log of an edge, for accepted requests and
for requests refused before their signature is checked (firewall, geo, 429, 414, 431, 400)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from edge.app import create_app
from streaming import bearer
from streaming.config import parse
from streaming.policy import Policy
from tests.access import key_group, key_id, private_key, signer
from tests.edge.stack import Answer, EdgeStack, ScriptedOrigin, edge_doc, edge_stack, wait_for

KEY = "alice"
VIEWER_BASE = "http://viewer.test"  # the test client's own httpx log lines name this host


def secrets_doc(origin_url: str) -> dict[str, Any]:
    """Private behaviors behind every pre-signature check: firewall, geo, rate limit, sizes."""
    doc = edge_doc(
        origin_url,
        key_groups=[key_group("viewers", KEY)],
        geo_restriction={"mode": "deny", "countries": ["US"], "country_header": "x-country"},
        trusted_proxies=["127.0.0.1/32"],  # the test client: its country header counts
        firewall={"deny_paths": ["/private/blocked/*"], "max_url_bytes": 2048,
                  "max_header_bytes": 4096},
    )  # fmt: skip
    private = {"target": "all", "trusted_key_groups": ["viewers"]}
    doc["behaviors"] = [
        {"path_pattern": "/limited/*", **private, "rate_limit": {"rate": 0.001, "burst": 1}},
        {"path_pattern": "/private/*", **private, "jwt_bearer": True},
        *doc["behaviors"],
    ]
    return doc


@dataclass
class Traffic:
    """The requests to send and every credential value they carry."""

    requests: list[tuple[str, dict[str, str], int | None]] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def add(
        self, target: str, headers: dict[str, str] | None = None, status: int | None = None
    ) -> None:
        self.requests.append((target, headers or {}, status))


def _query_values(url: str) -> list[str]:
    query = url.partition("?")[2]
    pairs = (p.partition("=") for p in query.split("&"))
    return [v for k, _, v in pairs if k in ("Signature", "Policy", "Key-Pair-Id")]


def traffic(base: str) -> Traffic:
    """Accepted and refused requests with signed URLs, cookies and JWTs for the edge at `base`."""
    t = Traffic()
    now = int(time.time())
    alice = signer(KEY)

    def url(path: str, **kw: Any) -> str:
        signed = alice.signed_url(base + path, **kw)
        t.secrets.extend(_query_values(signed))
        return signed.removeprefix(base)

    cookies = alice.cookies(Policy(f"{base}/private/*", now + 600))
    t.secrets += [v for k, v in cookies.items() if k != "CloudFront-Expires"]
    cookie = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    token = bearer.issue(private_key(KEY), key_id(KEY), now + 600)
    expired = bearer.issue(private_key(KEY), key_id(KEY), now - 600)
    t.secrets += [token, expired]

    t.add(url("/private/a.ts", expires=now + 600), status=200)  # canned
    t.add(url("/private/a.ts", policy=Policy(f"{base}/private/*", now + 600)), status=200)
    t.add("/private/b.ts", cookie, 200)
    t.add("/private/a.ts", {"authorization": f"Bearer {token}"}, 200)
    t.add("/private/a.ts", {"authorization": f"Bearer {expired}"}, 403)
    t.add(url("/private/a.ts", expires=now - 5), status=403)  # expired
    t.add(url("/private/a.ts", expires=now + 600).replace("a.ts?", "b.ts?"), status=403)
    t.add(url("/private/blocked/x.ts", expires=now + 600), status=403)  # firewall
    t.add("/private/blocked/x.ts", cookie, 403)
    t.add(url("/private/a.ts", expires=now + 600), {"x-country": "US"}, 403)  # geo
    t.add("/private/a.ts", {"x-country": "US", **cookie}, 403)
    limited = url("/limited/a.ts", expires=now + 600)
    t.add(limited, status=200)
    t.add(url("/limited/a.ts", expires=now + 600), status=429)  # rate limit, unsigned yet
    t.add("/limited/a.ts", cookie, 429)
    t.add(url("/private/a.ts", expires=now + 600) + "&pad=" + "p" * 2100, status=414)
    t.add("/private/a.ts", {**cookie, "x-pad": "p" * 4200}, 431)
    t.add(url("/private/a.ts", expires=now + 600), {"x-pad": "p" * 4200}, 431)
    t.add(url("/private//a.ts", expires=now + 600))  # not in normal form
    t.add("/public.ts", {"referer": base + url("/private/a.ts", expires=now + 600)}, 200)
    return t


def alnum_runs(secret: str) -> list[str]:
    """The long alphanumeric runs of a value: they survive any URL or JSON encoding."""
    return re.findall(r"[A-Za-z0-9]{12,}", secret)


def leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    found = []
    for secret in secrets:
        for run in alnum_runs(secret):
            for where, text in texts.items():
                if run in text:
                    found.append(f"{run[:16]}… in {where}")
    return found


@pytest.fixture(scope="module")
def secret_stack(
    origin: ScriptedOrigin, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeStack]:
    with edge_stack(tmp_path_factory.mktemp("secrets"), secrets_doc(origin.url)) as s:
        yield s


@pytest.mark.e2e
def test_no_credential_reaches_the_access_log_or_process_log_of_a_real_edge(
    secret_stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Accepted and refused signed requests through a running edge: no signature, policy,
    key id, cookie value or JWT appears in its access log file or its process log."""
    for path in ("/private/a.ts", "/private/b.ts", "/limited/a.ts", "/public.ts"):
        origin.route(path, Answer(headers={"content-type": "video/mp2t"}, body=b"ts" * 64))
    base = secret_stack.url()
    t = traffic(base)
    for target, headers, status in t.requests:
        response = httpx.get(base + target, headers=headers, timeout=10)
        assert status is None or response.status_code == status, (target[:60], response.text)
    log = secret_stack.access_log()
    assert wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= len(t.requests))
    texts = {"access log": log.read_text()}
    for child in secret_stack.supervisor.children:
        texts[child.name] = child.log_path.read_text(errors="replace")
    assert '"sc-status":429' in texts["access log"] and '"sc-status":414' in texts["access log"]
    assert leaks(texts, t.secrets) == []
    assert key_id(KEY) not in "".join(texts.values())


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_no_credential_reaches_any_logger_in_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, anyio_backend: str
) -> None:
    """The same traffic through the in-process edge with every logger captured at DEBUG."""

    async def origin(scope: Scope, receive: Receive, send: Send) -> None:
        await Response(b"ts" * 64, media_type="video/mp2t")(scope, receive, send)

    doc = secrets_doc("http://127.0.0.1:9")
    doc["edge"] = {**doc["edge"], "cache_dir": str(tmp_path / "cache")}
    access = tmp_path / "access.log"
    app = create_app(
        parse(doc), "iad", transport=httpx.ASGITransport(app=origin), access_log=str(access)
    )
    t = traffic(VIEWER_BASE)
    caplog.set_level(logging.DEBUG)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=VIEWER_BASE) as client:
        for target, headers, status in t.requests:
            response = await client.get(target, headers=headers)
            assert status is None or response.status_code == status, target[:60]
    app.pipeline.access_log.close()
    edge_records = [
        r.getMessage() for r in caplog.records
        if not (r.name == "httpx" and f"{VIEWER_BASE}/" in r.getMessage())
    ]  # fmt: skip
    texts = {"access log": access.read_text(), "loggers": "\n".join(edge_records)}
    assert any("127.0.0.1:9/private/a.ts" in m for m in edge_records)  # the edge's own lines
    assert len(texts["access log"].splitlines()) == len(t.requests)
    assert leaks(texts, t.secrets) == []
    assert access.stat().st_mode & 0o777 == 0o640
