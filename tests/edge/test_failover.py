"""Failover decisions: which members a request tries, and when a broken body may be resumed."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from edge.classify import Route
from edge.failover import OVERLAP, ResumingBody, Splice, candidates, resume_headers, resume_start
from edge.health import Health, State
from edge.origins import CHUNK, OriginClient, OriginRequest, OriginResponse, Timeouts
from streaming.config import HealthPolicy, Origin
from streaming.errors import OriginError
from tests.factories import distribution

A = Origin(id="a", region="us-east", url="http://127.0.0.1:1")
B = Origin(id="b", region="eu-west", url="http://127.0.0.1:2")
BODY = bytes(range(256)) * 400


def tracker(**policy: object) -> Health:
    return Health({"a": HealthPolicy(**policy), "b": HealthPolicy(**policy)})  # type: ignore[arg-type]


def test_healthy_members_are_tried_in_order() -> None:
    """With everything up, the request may try every member, primary first."""
    assert list(candidates((A, B), tracker())) == [A, B]


def test_a_down_member_is_skipped_without_being_tried() -> None:
    """A known-down primary is not even attempted: the request goes straight to the secondary."""
    health = tracker(failure_threshold=1)
    health.failed("a", "refused")
    assert list(candidates((A, B), health)) == [B]


def test_when_every_member_is_down_all_are_tried_as_a_last_resort() -> None:
    """Better to ask a down origin than to answer 502 without asking anyone."""
    health = tracker(failure_threshold=1)
    health.failed("a", "x")
    health.failed("b", "x")
    assert list(candidates((A, B), health)) == [A, B]


def test_a_half_open_member_is_probed_by_one_request_at_a_time() -> None:
    """The first request claims the probe slot; a concurrent one skips to the next member."""
    health = tracker(failure_threshold=1, recovery_checks=1)
    health.failed("a", "x")
    health.checked("a", None)
    assert health.state("a") is State.HALF_OPEN
    first = candidates((A, B), health)
    assert next(first) is A
    assert list(candidates((A, B), health)) == [B]


def test_members_after_a_success_are_not_admitted() -> None:
    """Admission is lazy: stopping after the primary leaves the secondary's probe slot free."""
    health = tracker(failure_threshold=1, recovery_checks=1)
    health.failed("b", "x")
    health.checked("b", None)
    walk = candidates((A, B), health)
    assert next(walk) is A
    assert health.admit("b") is True  # nobody claimed b's probe


def test_resume_headers_ask_for_the_rest_with_an_overlap_and_drop_validators() -> None:
    """Range starts `overlap` bytes before what was received; the old validators are gone."""
    headers = resume_headers(
        {"user-agent": "x", "if-none-match": '"e"', "range": "bytes=0-"}, 50_000, 16_384
    )
    assert headers == {"user-agent": "x", "range": "bytes=33616-"}


def test_splice_of_a_206_passes_only_the_new_bytes() -> None:
    """A matching overlap is swallowed and the rest of the body continues seamlessly."""
    received, tail = 50_000, BODY[50_000 - 16_384 : 50_000]
    start = resume_start(
        "b", 206, f"bytes 33616-{len(BODY) - 1}/{len(BODY)}", None, 33_616, len(BODY)
    )
    splice = Splice("b", received, tail, start)
    resumed = BODY[start:]
    out = b"".join(splice.feed(resumed[i : i + 7000]) for i in range(0, len(resumed), 7000))
    assert splice.verified and BODY[:received] + out == BODY


def test_splice_of_a_full_200_skips_what_was_already_sent() -> None:
    """An origin without Range support: the already-sent prefix is skipped, the overlap checked."""
    received = 70_000
    start = resume_start("b", 200, None, len(BODY), 53_616, len(BODY))
    splice = Splice("b", received, BODY[received - 16_384 : received], start)
    out = b"".join(splice.feed(BODY[i : i + 9000]) for i in range(0, len(BODY), 9000))
    assert BODY[:received] + out == BODY


def test_splice_refuses_a_different_copy() -> None:
    """Overlapping bytes that differ (another encode of a live segment) abort the resume."""
    splice = Splice("b", 50_000, BODY[33_616:50_000], 33_616)
    other = bytes(b ^ 0xFF for b in BODY[33_616:])
    with pytest.raises(OriginError, match="different copy"):
        splice.feed(other)


@pytest.mark.parametrize(
    ("status", "content_range", "length"),
    [
        (206, "bytes 0-99/102400", 100),  # wrong start
        (206, "bytes 33616-99999/100000", 66384),  # another total length
        (206, None, 5),
        (200, None, 5),
        (404, None, 0),
    ],
)
def test_resume_refused_when_the_next_origin_does_not_have_the_same_object(
    status: int, content_range: str | None, length: int
) -> None:
    """A different length, offset or status means a different object: never splice it."""
    with pytest.raises(OriginError):
        resume_start("b", status, content_range, length, 33_616, len(BODY))


class _Cut(httpx.AsyncByteStream):
    """A body whose connection breaks after `cut` bytes."""

    def __init__(self, data: bytes, cut: int) -> None:
        self._data, self._cut = data, cut

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._data[: self._cut]
        raise httpx.ReadError("connection reset")


def _member(request: httpx.Request) -> httpx.Response:
    """Member a (port 1) breaks after one read (64 KiB); member b (port 2) answers ranges."""
    if request.url.port == 1:
        return httpx.Response(
            200, headers={"content-length": str(len(BODY))}, stream=_Cut(BODY, CHUNK)
        )
    start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
    headers = {
        "content-length": str(len(BODY) - start),
        "content-range": f"bytes {start}-{len(BODY) - 1}/{len(BODY)}",
    }
    return httpx.Response(206, headers=headers, stream=httpx.ByteStream(BODY[start:]))


class _Recording(OriginClient):
    """The real client over a mock transport, remembering what each member was asked."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__(client, "iad")
        self.asked: list[tuple[str, OriginRequest]] = []

    async def open(
        self, origin: Origin, request: OriginRequest, timeouts: Timeouts
    ) -> OriginResponse:
        self.asked.append((origin.id, request))
        return await super().open(origin, request, timeouts)


def test_a_broken_body_resumes_on_the_next_member_asked_as_the_same_behavior() -> None:
    """Cut after 64 KiB on a: the rest comes from b by Range, byte-exact; the ranged request keeps
    the behavior that accepted the original (the access guard's `accepted`), drops validators,
    and a, now broken, is not asked again."""
    route = Route(0, distribution().behaviors[0], re.compile(".*"))
    request = OriginRequest("all", "GET", "/v.ts", "", {"if-none-match": '"e"'}, accepted=route)
    health, timeouts = tracker(), Timeouts(0.5, 0.5, 1)

    async def main() -> tuple[bytes, list[tuple[str, OriginRequest]]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(_member)) as http:
            client = _Recording(http)
            first = await client.open(A, request, timeouts)
            first.body = ResumingBody(first, request, (A, B), timeouts, client, health)
            try:
                return b"".join([chunk async for chunk in first.chunks()]), client.asked
            finally:
                await first.aclose()

    body, asked = asyncio.run(main())
    assert body == BODY
    assert [origin for origin, _ in asked] == ["a", "b"]
    ranged = asked[1][1]
    assert ranged.accepted is route
    assert ranged.headers == {"range": f"bytes={CHUNK - OVERLAP}-"}
    assert health.snapshot()["a"]["failed"] == 1 and health.snapshot()["b"]["ok"] == 1
