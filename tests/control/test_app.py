"""The control plane's API in-process: validation, auth, idempotency, per-edge status,
durability.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from control.app import MAX_INVALIDATION_BYTES, create_app
from procs.supervisor import Supervisor, cli_argv, free_port
from tests.factories import TOKEN, distribution, distribution_doc, write_config
from tests.limits import Untouched, chunks, declared_only

pytestmark = pytest.mark.anyio
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def dist():  # type: ignore[no-untyped-def]
    # Edges on ports nobody listens on: the nudges fail fast and the edges would pull later.
    return distribution(
        pops=(("iad", "us-east"), ("fra", "us-east")), control={"url": "http://127.0.0.1:9"}
    )


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dist(), tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://c") as c,
    ):
        yield c


@pytest.mark.parametrize(("paths", "reason"), [
    ([], "at least 1"), (["no-slash"], "must start with /"), (["/a*b"], "only allowed as the last"),
    (["/a b"], "whitespace"), (["/" + "a" * 4001], "longer than 4000"),
])  # fmt: skip
async def test_bad_paths_are_refused_with_a_reason(
    client: httpx.AsyncClient, paths: list[str], reason: str
) -> None:
    """CloudFront's path rules: absolute, `*` last only, no whitespace, at most 4,000 characters."""
    response = await client.post("/admin/invalidations", json={"paths": paths}, headers=AUTH)
    assert response.status_code in (400, 422) and reason in response.text


async def test_the_api_needs_the_admin_token(client: httpx.AsyncClient) -> None:
    """No token → 401, a wrong one → 403, for creating and for reading."""
    assert (await client.post("/admin/invalidations", json={"paths": ["/a"]})).status_code == 401
    wrong = {"authorization": "Bearer nope"}
    assert (await client.get("/admin/invalidations", headers=wrong)).status_code == 403
    assert (await client.get("/admin/edges/iad/invalidations", headers=wrong)).status_code == 403


async def test_status_is_in_progress_until_every_edge_acknowledges(
    client: httpx.AsyncClient,
) -> None:
    """Edges pull what is after their sequence and ack; the batch completes with the last ack."""
    created = (
        await client.post(
            "/admin/invalidations", json={"paths": ["/v/1/*", "/v/2/a.ts"]}, headers=AUTH
        )
    ).json()
    assert created["status"] == "InProgress" and created["edges"] == {
        "iad": "InProgress",
        "fra": "InProgress",
    }
    feed = (
        await client.get("/admin/edges/iad/invalidations", params={"after": 0}, headers=AUTH)
    ).json()
    assert [b["paths"] for b in feed["invalidations"]] == [["/v/1/*", "/v/2/a.ts"]]
    await client.post("/admin/edges/iad/ack", json={"sequence": created["sequence"]}, headers=AUTH)
    half = (await client.get(f"/admin/invalidations/{created['id']}", headers=AUTH)).json()
    assert (
        half["edges"] == {"iad": "Completed", "fra": "InProgress"}
        and half["status"] == "InProgress"
    )
    await client.post("/admin/edges/fra/ack", json={"sequence": created["sequence"]}, headers=AUTH)
    await client.post("/admin/edges/fra/ack", json={"sequence": 0}, headers=AUTH)  # never backwards
    done = (await client.get(f"/admin/invalidations/{created['id']}", headers=AUTH)).json()
    assert done["status"] == "Completed"
    after = (
        await client.get(
            "/admin/edges/iad/invalidations", params={"after": created["sequence"]}, headers=AUTH
        )
    ).json()
    assert after["invalidations"] == []
    assert (await client.get("/admin/edges/sin/invalidations", headers=AUTH)).status_code == 404
    assert (await client.get("/admin/invalidations/Inope", headers=AUTH)).status_code == 404


async def test_caller_reference_makes_creation_idempotent(client: httpx.AsyncClient) -> None:
    """The same reference and paths return the same batch (200); other paths are a 409."""
    body = {"paths": ["/x"], "caller_reference": "deploy-42"}
    first = await client.post("/admin/invalidations", json=body, headers=AUTH)
    again = await client.post("/admin/invalidations", json=body, headers=AUTH)
    assert (first.status_code, again.status_code) == (201, 200) and first.json()[
        "id"
    ] == again.json()["id"]
    clash = await client.post(
        "/admin/invalidations",
        json={"paths": ["/y"], "caller_reference": "deploy-42"},
        headers=AUTH,
    )
    assert clash.status_code == 409


async def test_invalidations_survive_a_control_plane_restart(tmp_path: Path) -> None:
    """Batches and edge progress are in SQLite: a new app on the same directory sees them."""
    app = create_app(dist(), tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://c") as c,
    ):
        created = (
            await c.post("/admin/invalidations", json={"paths": ["/a"]}, headers=AUTH)
        ).json()
        await c.post("/admin/edges/iad/ack", json={"sequence": created["sequence"]}, headers=AUTH)
    again = create_app(dist(), tmp_path)
    transport = httpx.ASGITransport(app=again)
    async with (
        again.router.lifespan_context(again),
        httpx.AsyncClient(transport=transport, base_url="http://c") as c,
    ):
        state = (await c.get(f"/admin/invalidations/{created['id']}", headers=AUTH)).json()
    assert state["paths"] == ["/a"] and state["edges"] == {"iad": "Completed", "fra": "InProgress"}


@pytest.mark.parametrize("path", ["/admin/invalidations", "/admin/edges/iad/ack"])
@pytest.mark.parametrize("token", [None, "Bearer nope"])
async def test_bodies_of_callers_without_the_token_are_never_read(
    client: httpx.AsyncClient, path: str, token: str | None
) -> None:
    """Not even a malformed body is looked at: 401/403 (not a 400 about its JSON), unread."""
    body = Untouched(b'{"paths": [not json')
    headers = {"authorization": token} if token else {}
    answer = await client.post(path, content=body, headers=headers)
    assert answer.status_code == (403 if token else 401), answer.text
    assert not body.read


async def test_every_admin_route_checks_the_token_before_its_parameters(
    client: httpx.AsyncClient,
) -> None:
    """A bad query parameter from a caller without the token is a 401, not a validation error."""
    answer = await client.get("/admin/edges/iad/invalidations", params={"after": "abc"})
    assert answer.status_code == 401


async def test_a_malformed_body_from_the_admin_is_a_400_with_the_reason(
    client: httpx.AsyncClient,
) -> None:
    """Broken JSON, a wrong type, an out-of-range sequence: 400 naming the problem."""
    broken = await client.post("/admin/invalidations", content=b"{not json", headers=AUTH)
    typed = await client.post("/admin/invalidations", json={"paths": "/a"}, headers=AUTH)
    huge = await client.post("/admin/edges/iad/ack", json={"sequence": 2**70}, headers=AUTH)
    assert broken.status_code == typed.status_code == huge.status_code == 400
    assert "invalid invalidation: Invalid JSON" in broken.json()["detail"]
    assert "paths" in typed.json()["detail"] and "sequence" in huge.json()["detail"]


async def test_oversized_bodies_are_413_declared_or_chunked(client: httpx.AsyncClient) -> None:
    """Refused by Content-Length before reading, and by counting when the body is chunked."""
    declared = await client.post(
        "/admin/invalidations", content=b"x" * (MAX_INVALIDATION_BYTES + 1), headers=AUTH
    )
    streamed = await client.post(
        "/admin/edges/iad/ack", content=Untouched(b"x" * 2000), headers=AUTH
    )
    assert declared.status_code == streamed.status_code == 413
    assert "limit of 1048576 bytes" in declared.json()["detail"]
    assert streamed.json()["error"] == "payload_too_large"


def test_a_running_control_plane_refuses_oversized_bodies_and_keeps_serving(
    tmp_path: Path,
) -> None:
    """A real server: 413 before the declared body is sent, 413 for a chunked one, then work."""
    doc = distribution_doc(control={"url": f"http://127.0.0.1:{free_port()}"})
    config = write_config(tmp_path / "distribution.toml", doc)
    base = doc["control"]["url"]
    with Supervisor(tmp_path / "logs") as supervisor:
        argv = cli_argv("control", "--config", str(config), "--data", str(tmp_path / "control"))
        supervisor.wait_healthy(supervisor.start("control", argv, f"{base}/healthz"))
        status, body = declared_only(base, "/admin/invalidations", 10**9, AUTH)
        assert (status, body["error"]) == (413, "payload_too_large")
        assert declared_only(base, "/admin/invalidations", 10**9) == (401, {
            "error": "unauthorized",
            "detail": "the admin token is required (Authorization: Bearer <token>)",
        })  # fmt: skip
        chunked = httpx.post(
            f"{base}/admin/invalidations", content=chunks(4 * MAX_INVALIDATION_BYTES),
            headers=AUTH, timeout=10,
        )  # fmt: skip
        assert chunked.status_code == 413
        created = httpx.post(f"{base}/admin/invalidations", json={"paths": ["/a"]}, headers=AUTH)
        assert created.status_code == 201
        assert httpx.get(f"{base}/healthz").status_code == 200
