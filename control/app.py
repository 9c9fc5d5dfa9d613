"""The control plane: the invalidation API, durable records, fan-out to every edge.

    POST /admin/invalidations                  record a batch, nudge every edge (admin token)
    GET  /admin/invalidations[/{id}]           InProgress / Completed, with per-edge state
    GET  /admin/edges/{pop}/invalidations      what an edge has not applied yet (?after=seq)
    POST /admin/edges/{pop}/ack                an edge applied everything up to a sequence

Every /admin route checks the admin token first (a router dependency, before any parameter is
validated), and the two bodies are read only after it, with a limit (`streaming.bodies`).

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
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from control.store import Batch, InvalidationStore
from streaming.admin import admin_guard
from streaming.bodies import read_json
from streaming.config import Distribution
from streaming.errors import BadRequest, Conflict, NotFound
from streaming.http import install_error_handler

log = logging.getLogger("control")

MAX_PATHS = 3000  # CloudFront's in-progress file-path limit per distribution
MAX_PATH_LENGTH = 4000
# A body is read whole before it is validated, so it is bounded: about 3,000 paths of 300 bytes.
MAX_INVALIDATION_BYTES = 1024 * 1024
MAX_ACK_BYTES = 1024


class InvalidationRequest(BaseModel):
    paths: list[str] = Field(min_length=1)
    caller_reference: str | None = Field(default=None, max_length=128)


SQLITE_MAX = 2**63 - 1  # a larger sequence would overflow SQLite's INTEGER (a 500, not a 4xx)


class Ack(BaseModel):
    sequence: int = Field(ge=0, le=SQLITE_MAX)


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

    api = APIRouter(prefix="/admin", dependencies=[Depends(admin_guard(token))])

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

    @api.post("/invalidations", status_code=201)
    async def create(request: Request) -> JSONResponse:
        body = await read_json(request, InvalidationRequest, MAX_INVALIDATION_BYTES, "invalidation")
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

    @api.get("/invalidations")
    async def listing() -> dict[str, object]:
        return {"invalidations": [status(b) for b in store.recent()]}

    @api.get("/invalidations/{batch_id}")
    async def one(batch_id: str) -> dict[str, object]:
        batch = store.get(batch_id)
        if batch is None:
            raise NotFound(f"no invalidation {batch_id}")
        return status(batch)

    @api.get("/edges/{pop}/invalidations")
    async def feed(
        pop: str, after: Annotated[int, Query(ge=0, le=SQLITE_MAX)] = 0
    ) -> dict[str, object]:
        _known(pop)
        return {"invalidations": [b.public() for b in store.after(after)]}

    @api.post("/edges/{pop}/ack")
    async def ack(pop: str, request: Request) -> dict[str, object]:
        _known(pop)
        body = await read_json(request, Ack, MAX_ACK_BYTES, "ack")
        store.acknowledge(pop, body.sequence)
        return {"pop": pop, "sequence": body.sequence}

    def _known(pop: str) -> None:
        if pop not in edge_urls:
            raise NotFound(f"unknown POP {pop!r}; the distribution has: {', '.join(pops)}")

    app.include_router(api)
    app.state.store = store
    return app
