"""Fixtures for driving an origin in-process (ASGI, real ffmpeg) or as a real process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from origin.app import create_app
from origin.context import OriginContext
from tests.factories import distribution
from tests.media import sources


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
    async def start(region: str = "us-east", data: Path | None = None, **doc: Any) -> AsyncIterator[RunningOrigin]:
        dist = distribution(**doc)
        app = create_app(dist, region, data or tmp_path / region)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://origin.test") as client:
                yield RunningOrigin(app, client)

    return start



@pytest.fixture(scope="session")
def bad_upload_files(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Uploads that are not videos: text, noise, an image, a truncated MP4, zero bytes."""
    return sources.bad_inputs(ffmpeg, tmp_path_factory.mktemp("bad-uploads"))
