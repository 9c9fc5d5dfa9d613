"""Fixtures shared by the edge tests that run a real edge process against a scripted origin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.edge.stack import EdgeStack, ScriptedOrigin, edge_doc, edge_stack, scripted_origin


@pytest.fixture(scope="module")
def origin() -> Iterator[ScriptedOrigin]:
    """An origin whose answers each test scripts, shared by one module's tests."""
    with scripted_origin() as o:
        yield o


@pytest.fixture(scope="module")
def stack(origin: ScriptedOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    """One edge process in front of `origin` with the default test distribution."""
    with edge_stack(tmp_path_factory.mktemp("edge"), edge_doc(origin.url)) as s:
        yield s
