"""The viewer's POP: the steering service decides when there is one, the config otherwise."""

from __future__ import annotations

import httpx
import pytest

from portal.steer import steer
from tests.factories import distribution

pytestmark = pytest.mark.anyio
POPS = (("iad", "us-east"), ("fra", "eu-west"), ("sin", "ap-southeast"))


def client(handler: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_without_steering_the_viewers_region_comes_first() -> None:
    """No [steering]: POPs in the viewer's region first, then config order."""
    dist = distribution(regions=("us-east", "eu-west"), pops=POPS)
    answer = await steer(dist, client(lambda r: httpx.Response(500)), "eu-west")
    assert answer["source"] == "config"
    assert [e["pop"] for e in answer["edges"]] == ["fra", "iad", "sin"]


async def test_the_steering_service_answer_is_used() -> None:
    """With [steering], its healthy-nearest-first list is passed on, region included."""
    dist = distribution(pops=POPS, steering={"url": "http://127.0.0.1:9"})
    seen: list[httpx.Request] = []

    def steering(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "region": "eu-west",
                "edges": [{"pop": "sin", "region": "ap-southeast", "url": "u"}],
            },
        )

    answer = await steer(dist, client(steering), "eu-west")
    assert answer == {"source": "steering", "region": "eu-west",
                      "edges": [{"pop": "sin", "region": "ap-southeast", "url": "u"}]}  # fmt: skip
    assert str(seen[0].url) == "http://127.0.0.1:9/edges?region=eu-west"


@pytest.mark.parametrize("failure", ["down", "no-edges", "garbage"])
async def test_a_failing_steering_service_falls_back_to_the_config(failure: str) -> None:
    """Steering down, out of healthy POPs or answering garbage: the viewer still gets POPs."""

    def steering(request: httpx.Request) -> httpx.Response:
        if failure == "down":
            raise httpx.ConnectError("refused", request=request)
        if failure == "no-edges":
            return httpx.Response(503, json={"error": "unavailable", "detail": "no healthy edge"})
        return httpx.Response(200, content=b"<html>")

    dist = distribution(pops=POPS, steering={"url": "http://127.0.0.1:9"})
    answer = await steer(dist, client(steering), None)
    assert answer["source"] == "config" and [e["pop"] for e in answer["edges"]] == [
        "iad",
        "fra",
        "sin",
    ]
