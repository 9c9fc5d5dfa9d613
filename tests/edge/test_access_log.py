"""The access log of a real edge: one JSON line per request with CloudFront's field names."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import httpx
import pytest

from edge.access_log import FIELDS, AccessLog, encode, line, record
from edge.types import Reply, Result
from edge.viewer import Viewer
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


def logged(stack: EdgeStack, *responses: httpx.Response) -> list[dict[str, object]]:
    """The log lines of `responses`, by request id: several workers write in their own order."""
    ids = [r.headers["x-request-id"] for r in responses]

    def found() -> dict[str, dict[str, object]]:
        path = stack.access_log()
        text = path.read_text() if path.exists() else ""
        return {str(line["x-edge-request-id"]): line for line in map(json.loads, text.splitlines())}

    wait_for(lambda: all(i in found() for i in ids), timeout=3)
    return [found()[i] for i in ids]


def test_each_request_is_one_line_with_cloudfront_fields(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Miss, Hit (ranged) and a 404: result types, status, bytes, ranges and timing are logged."""
    origin.route("/log/a%20b.ts", Answer(headers={"content-type": "video/mp2t"}, body=b"z" * 2048))
    miss = httpx.get(
        stack.url() + "/log/a%20b.ts?x=1",
        headers={"user-agent": "tester/1", "referer": "http://p.test/"},
    )
    part = httpx.get(stack.url() + "/log/a%20b.ts", headers={"range": "bytes=0-99"})
    none = httpx.get(stack.url() + "/log/none.ts")
    first, ranged, missing = logged(stack, miss, part, none)
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


def test_the_log_file_is_created_0640_and_an_existing_wider_one_is_narrowed(
    stack: EdgeStack, tmp_path: Path
) -> None:
    """The running edge's file is 0640; a pre-existing 0666 file is narrowed to 0640."""
    httpx.get(stack.url() + "/log/mode.ts")
    lines(stack, 1)
    assert stack.access_log().stat().st_mode & 0o777 == 0o640
    old = tmp_path / "old.log"
    old.write_text("")
    os.chmod(old, 0o666)
    AccessLog(str(old)).close()
    assert old.stat().st_mode & 0o777 == 0o640


def test_signing_parameters_leave_the_query_and_the_referer() -> None:
    """Whatever stage refused the request, the logged query and Referer hold no credentials."""
    fields = dict(
        when=0.0, pop="iad", distribution="d", method="GET", host="h", uri="/a.ts", status=429,
        sent=0, header_bytes=0, client_ip="192.0.2.1", client_port=0, result="Error",
        detailed="TooManyRequests", request_id="r", protocol="http", http_version="1.1",
        request_bytes=0, taken=0.0, first_byte=0.0, content_type="", content_length=None,
        range_=None, origin_region="", user_agent="ua",
    )  # fmt: skip
    query = "v=1&Expires=9&Policy=eyJQ&Signature=c2ln~&Key-Pair-Id=K1&Hash-Algorithm=SHA256&x=2"
    referer = f"https://p.test/watch?{query}#t=3"
    logged = record(query=query, referer=referer, **fields)  # type: ignore[arg-type]
    assert logged["cs-uri-query"] == "v=1&x=2"
    assert logged["cs(Referer)"] == "https://p.test/watch?v=1&x=2%23t=3"
    only = record(query="Signature=c2ln", referer="https://p.test/?Policy=eyJQ", **fields)  # type: ignore[arg-type]
    assert (only["cs-uri-query"], only["cs(Referer)"]) == ("-", "https://p.test/")


def test_a_line_formatted_at_flush_is_the_json_of_its_fields(tmp_path: Path) -> None:
    """`AccessLog.log` keeps a request's facts and formats them when it flushes: each line is
    exactly `json.dumps` of `line`'s fields, quotes, non-ASCII text and credentials included,
    and one flush appends every pending line at once."""
    target = tmp_path / "access.log"
    log = AccessLog(str(target))
    cases = [
        (Viewer("GET", "/hls/a b/ü.ts", "", {"host": "cdn.test", "user-agent": 'say "hi"'},
                "192.0.2.1", 5000, "1.1", "http", uri="/hls/a b/ü.ts"),
         Reply(200, {"content-type": 'video/"mp2t"', "content-length": "10",
                     "x-origin-region": "us-east"}, b"", Result.HIT, "Hit", sent=10)),
        (Viewer("GET", "/x.ts", "v=1&Signature=c2ln&Key-Pair-Id=K1&q=%22", {
                "host": "ö.test", "referer": "https://p.test/?Policy=eyJQ&a=1",
                "content-length": "7"}, "2001:db8::1", 0, "2", "https", uri="/x.ts"),
         Reply(206, {"content-length": "2"}, b"", Result.MISS, "", sent=2, range=(3, 4))),
    ]  # fmt: skip
    now = time.monotonic()
    for viewer, reply in cases:
        log.log(viewer, reply, "iad", "dist", 0.0012345, now)
    assert not target.read_text()  # nothing formatted or written before the flush
    log.flush()
    written = target.read_text().splitlines()
    expected = [
        json.dumps(line(viewer, reply, "iad", "dist", 0.0012345, now), separators=(",", ":"))
        for viewer, reply in cases
    ]
    assert written == expected
    assert json.loads(written[1])["cs-uri-query"] == "v=1&q=%22"
    log.close()


def test_what_viewers_send_is_remembered_only_when_short() -> None:
    """Formatting memoises repeated fields, but never a long value a viewer chose, so the memo
    cannot be grown past its bound by hostile headers."""
    from edge.access_log import MEMO_CHARS, _encoded

    short, long = "player/1.0", "x" * (MEMO_CHARS + 1)
    assert _encoded(short) == json.dumps(encode(short)) and short in _encoded.known
    assert _encoded(long) == json.dumps(encode(long)) and long not in _encoded.known
