"""Packaging on a queue engine fails at start, naming the setting, when it cannot work: an
engine without the S3 store (origin and packager) and a packager without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from origin.app import create_app
from origin.packager_app import create_packager_app
from streaming.errors import ConfigError
from tests.factories import distribution

REDIS = {"engine": "redis", "url": "redis://127.0.0.1:1/0"}


def test_an_origin_on_an_engine_needs_the_s3_store(tmp_path: Path) -> None:
    dist = distribution(origin={"queue": REDIS})
    with pytest.raises(ConfigError, match="origin.queue: engine = 'redis' needs the S3"):
        create_app(dist, "us-east", tmp_path)


def test_a_packager_needs_an_engine_and_the_s3_store(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"needs a queue engine: set \[origin.queue\]"):
        create_packager_app(distribution(), tmp_path, "w1")
    with pytest.raises(ConfigError, match="backend = 's3'"):
        create_packager_app(distribution(origin={"queue": REDIS}), tmp_path, "w1")


def test_a_redis_engine_needs_a_redis_url() -> None:
    with pytest.raises(ConfigError, match="url"):
        distribution(origin={"queue": {"engine": "redis"}})
