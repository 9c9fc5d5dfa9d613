"""Fixtures for driving an origin in-process (ASGI, real ffmpeg) or as a real process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from origin.app import create_app
from origin.context import OriginContext
from procs.supervisor import Child, Supervisor, cli_argv
from streaming.config import parse
from tests.factories import distribution, write_config
from tests.media import sources
from tests.origin.seaweed import SeaweedFS, seaweedfs


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class RunningOrigin:
    """An origin app with its lifespan running and a client bound to it."""

    app: FastAPI
    client: httpx.AsyncClient

    @property
    def ctx(self) -> OriginContext:
        return self.app.state.ctx  # type: ignore[no-any-return]


OriginFactory = Callable[..., AbstractAsyncContextManager[RunningOrigin]]


@pytest.fixture
def origin_app(tmp_path: Path) -> OriginFactory:
    """Start an in-process origin for region us-east: `async with origin_app(**doc) as o:`."""

    @asynccontextmanager
    async def start(
        region: str = "us-east", data: Path | None = None, **doc: Any
    ) -> AsyncIterator[RunningOrigin]:
        dist = distribution(**doc)
        app = create_app(dist, region, data or tmp_path / region)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://origin.test"
            ) as client:
                yield RunningOrigin(app, client)

    return start


@pytest.fixture(scope="session")
def bad_upload_files(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Uploads that are not videos: text, noise, an image, a truncated MP4, zero bytes."""
    return sources.bad_inputs(ffmpeg, tmp_path_factory.mktemp("bad-uploads"))


@contextmanager
def origin_processes(tmp: Path, doc: dict[str, Any]) -> Iterator[Supervisor]:
    """Every origin of `doc` as a real `streaming origin` process (no edges); always reaped."""
    config = write_config(tmp / "distribution.toml", doc)
    dist = parse(doc)
    with Supervisor(tmp / "logs") as sup:
        for o in dist.origins:
            start_origin(sup, config, o.region, o.url, tmp)
        for child in sup.children:
            sup.wait_healthy(child)
        yield sup


def start_origin(sup: Supervisor, config: Path, region: str, url: str, tmp: Path) -> Child:
    argv = cli_argv(
        "origin",
        "--config",
        str(config),
        "--region",
        region,
        "--data",
        str(tmp / "origin" / region),
    )
    return sup.start(f"origin-{region}", argv, f"{url}/healthz")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One real SeaweedFS S3 gateway for the whole session."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server
