"""The control plane: the invalidation API, durable records, fan-out to every edge.

    POST /admin/invalidations                  record a batch, nudge every edge (admin token)
    GET  /admin/invalidations[/{id}]           InProgress / Completed, with per-edge state
    GET  /admin/edges/{pop}/invalidations      what an edge has not applied yet (?after=seq)
    POST /admin/edges/{pop}/ack                an edge applied everything up to a sequence

Edges pull by sequence number, so one that was down catches up when it returns; the push is
only a nudge to make the common case fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from control.store import Batch, InvalidationStore
from streaming import admin
from streaming.config import Distribution
from streaming.errors import BadRequest, Conflict, NotFound
from streaming.http import install_error_handler

log = logging.getLogger("control")

MAX_PATHS = 3000  # CloudFront's in-progress file-path limit per distribution
MAX_PATH_LENGTH = 4000


class InvalidationRequest(BaseModel):
    paths: list[str] = Field(min_length=1)
    caller_reference: str | None = Field(default=None, max_length=128)


class Ack(BaseModel):
    sequence: int = Field(ge=0)


def validate_paths(paths: list[str]) -> tuple[str, ...]:
    """CloudFront's rules: absolute, `*` only as the last character, bounded length and count."""
    if len(paths) > MAX_PATHS:
        raise BadRequest(f"at most {MAX_PATHS} paths per invalidation, got {len(paths)}")
    for path in paths:
        if not path.startswith("/"):
            raise BadRequest(f"invalidation path {path!r} must start with /")
        if len(path) > MAX_PATH_LENGTH:
            raise BadRequest(f"invalidation path longer than {MAX_PATH_LENGTH} characters")
        if "*" in path[:-1]:
            raise BadRequest(
                f"invalidation path {path!r}: '*' is only allowed as the last character"
            )
        if any(ch.isspace() or ord(ch) < 32 for ch in path):
            raise BadRequest(
                f"invalidation path {path!r} contains whitespace or control characters"
            )
    return tuple(dict.fromkeys(paths))


def create_app(dist: Distribution, data_dir: Path | None = None) -> FastAPI:
    """The control plane of `dist`; its database lives in `data_dir` (default from the config)."""
    assert dist.control is not None, "the distribution has no [control] section"
    root = data_dir or Path(dist.control.data_dir)
    store = InvalidationStore(root / "control.sqlite3")
    client = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=1.0))
    pops = tuple(e.pop for e in dist.edges)
    edge_urls = {e.pop: e.url for e in dist.edges}
    token = dist.admin_token
    pending: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await client.aclose()
        store.close()

    app = FastAPI(title="control", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handler(app)

    def require_admin(request: Request) -> None:
        admin.require_admin(request, token)

    def status(batch: Batch) -> dict[str, object]:
        progress = store.progress()
        edges = {
            pop: "Completed" if progress.get(pop, 0) >= batch.sequence else "InProgress"
            for pop in pops
        }
        overall = "Completed" if all(s == "Completed" for s in edges.values()) else "InProgress"
        return {**batch.public(), "status": overall, "edges": edges}

    async def nudge(pop: str) -> None:
        """Ask one edge to pull now; if it is down it will pull when it comes back."""
        with contextlib.suppress(httpx.HTTPError):
            await client.post(
                f"{edge_urls[pop]}/admin/invalidations/sync",
                headers={"authorization": f"Bearer {token.reveal()}"},
            )

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "role": "control", "edges": list(pops)}

    @app.post("/admin/invalidations", status_code=201)
    async def create(body: InvalidationRequest, request: Request) -> JSONResponse:
        require_admin(request)
        paths = validate_paths(body.paths)
        batch, created = store.create(paths, body.caller_reference)
        if not created and batch.paths != paths:
            raise Conflict(f"caller_reference {body.caller_reference!r} was used for other paths")
        if created:
            log.info("invalidation %s (#%d): %s", batch.id, batch.sequence, ", ".join(paths))
            for pop in pops:
                task = asyncio.create_task(nudge(pop))
                pending.add(task)
                task.add_done_callback(pending.discard)
        return JSONResponse(
            status(batch), status_code=201 if created else 200,
            headers={"Location": f"/admin/invalidations/{batch.id}"},
        )  # fmt: skip

    @app.get("/admin/invalidations")
    async def listing(request: Request) -> dict[str, object]:
        require_admin(request)
        return {"invalidations": [status(b) for b in store.recent()]}

    @app.get("/admin/invalidations/{batch_id}")
    async def one(batch_id: str, request: Request) -> dict[str, object]:
        require_admin(request)
        batch = store.get(batch_id)
        if batch is None:
            raise NotFound(f"no invalidation {batch_id}")
        return status(batch)

    @app.get("/admin/edges/{pop}/invalidations")
    async def feed(pop: str, request: Request, after: int = 0) -> dict[str, object]:
        require_admin(request)
        _known(pop)
        return {"invalidations": [b.public() for b in store.after(after)]}

    @app.post("/admin/edges/{pop}/ack")
    async def ack(pop: str, body: Ack, request: Request) -> dict[str, object]:
        require_admin(request)
        _known(pop)
        store.acknowledge(pop, body.sequence)
        return {"pop": pop, "sequence": body.sequence}

    def _known(pop: str) -> None:
        if pop not in edge_urls:
            raise NotFound(f"unknown POP {pop!r}; the distribution has: {', '.join(pops)}")

    app.state.store = store
    return app
