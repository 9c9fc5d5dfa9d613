"""Shared fixtures: ffmpeg, a tiny generated clip, configs and real topologies."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from media.runner import ffmpeg_binary
from media.samples import make_clip
from tests.factories import Topology, distribution_doc, running_topology

# Edges the tests start run one worker unless the run asks for more (`make test` runs the edge
# tests once more with STREAMING_EDGE_WORKERS=2): the CLI's default is one per core.
os.environ.setdefault("STREAMING_EDGE_WORKERS", "1")


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return ffmpeg_binary()


@pytest.fixture(scope="session")
def clip(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s 320x180 test pattern with a tone: small and quick to package."""
    out = tmp_path_factory.mktemp("media") / "clip.mp4"
    return asyncio.run(make_clip(ffmpeg, out, seconds=4, width=320, height=180))


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    """Two regional origins and two edges as real processes on free loopback ports."""
    doc = distribution_doc(
        regions=("us-east", "eu-west"), pops=(("iad", "us-east"), ("fra", "eu-west"))
    )
    with running_topology(tmp_path, doc) as topo:
        yield topo
