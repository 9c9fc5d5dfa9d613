"""The access log of a real edge: one JSON line per request with CloudFront's field names."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from edge.access_log import FIELDS, encode
from tests.edge.stack import (
    Answer,
    EdgeStack,
    ScriptedOrigin,
    wait_for,
)

pytestmark = pytest.mark.e2e


def lines(stack: EdgeStack, count: int) -> list[dict[str, object]]:
    path = stack.access_log()
    wait_for(lambda: path.exists() and len(path.read_text().splitlines()) >= count, timeout=3)
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_request_is_one_line_with_cloudfront_fields(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Miss, Hit (ranged) and a 404: result types, status, bytes, ranges and timing are logged."""
    origin.route("/log/a%20b.ts", Answer(headers={"content-type": "video/mp2t"}, body=b"z" * 2048))
    miss = httpx.get(
        stack.url() + "/log/a%20b.ts?x=1",
        headers={"user-agent": "tester/1", "referer": "http://p.test/"},
    )
    httpx.get(stack.url() + "/log/a%20b.ts", headers={"range": "bytes=0-99"})
    httpx.get(stack.url() + "/log/none.ts")
    first, ranged, missing = lines(stack, 3)[-3:]
    assert list(first) == list(FIELDS)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", str(first["date"])) and re.fullmatch(
        r"\d\d:\d\d:\d\d", str(first["time"])
    )
    assert (
        first["x-edge-location"] == "iad"
        and first["c-ip"] == "127.0.0.1"
        and first["cs-method"] == "GET"
    )
    assert first["cs-uri-stem"] == "/log/a%20b.ts" and first["cs-uri-query"] == "x=1"
    assert first["sc-status"] == 200 and first["x-edge-result-type"] == "Miss"
    assert first["x-edge-request-id"] == miss.headers["x-request-id"]
    assert first["cs(User-Agent)"] == "tester/1" and first["cs(Referer)"] == "http://p.test/"
    assert int(first["sc-bytes"]) > 2048 and first["sc-content-len"] == 2048  # type: ignore[call-overload]
    assert first["sc-content-type"] == "video/mp2t" and first["x-distribution-id"] == "edgetest"
    assert 0 <= float(first["time-to-first-byte"]) <= float(first["time-taken"]) < 5  # type: ignore[arg-type]
    assert (ranged["sc-status"], ranged["x-edge-result-type"]) == (206, "Hit")
    assert (ranged["sc-range-start"], ranged["sc-range-end"]) == (0, 99)
    assert (missing["sc-status"], missing["x-edge-result-type"]) == (404, "Error")
    assert missing["x-edge-detailed-result-type"] == "Miss"


def test_fields_are_url_encoded_like_cloudfront_logs() -> None:
    """Spaces and quotes are percent-encoded, empty values are '-'."""
    assert encode('a b"c') == "a%20b%22c" and encode("") == "-"
