"""`streaming report`: usage per distribution and POP from access logs, and the estimated bill."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from control.store import InvalidationStore
from edge.access_log import record
from tests.factories import distribution_doc, write_config

GIB = 1024**3


def line(pop: str, uri: str, status: int, result: str, sent: int, when: float) -> dict[str, Any]:
    return record(
        when=when, pop=pop, distribution="test", method="GET", host="cdn.test", uri=uri, query="",
        status=status, sent=sent, header_bytes=0, client_ip="127.0.0.1", client_port=5000,
        referer="", user_agent="ua", result=result, detailed=result, request_id="r",
        protocol="http", http_version="1.1", request_bytes=0, taken=0.01, first_byte=0.005,
        content_type="video/mp2t", content_length=sent, range_=None, origin_region="us-east",
    )  # fmt: skip


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    doc = distribution_doc(pops=(("iad", "us-east"), ("sin", "ap-southeast")))
    doc["control"] = {"url": "http://127.0.0.1:9", "data_dir": str(tmp_path / "control")}
    doc["pricing"] = {"egress_per_gb": {"us-east": 0.10, "*": 0.20}, "per_10k_requests": 1.0,
                      "invalidation_per_path": 0.5, "free_invalidation_paths": 2}  # fmt: skip
    config = write_config(tmp_path / "dist.toml", doc)
    now = time.time()
    iad = [line("iad", "/hls/a.ts", 200, "Miss", GIB, now)] + [
        line("iad", "/hls/a.ts", 200, "Hit", GIB, now)
    ] * 3
    iad += [line("iad", "/hls/gone.ts", 404, "Error", 0, now)]
    sin = [
        line("sin", "/hls/b.ts", 200, "Miss", GIB // 2, now),
        line("sin", "/hls/b.ts", 200, "RefreshHit", GIB // 2, now),
    ]
    logs = tmp_path / "iad.log", tmp_path / "sin.log"
    logs[0].write_text("\n".join(json.dumps(x) for x in iad) + "\nnot json\n")
    logs[1].write_text("\n".join(json.dumps(x) for x in sin) + "\n")
    store = InvalidationStore(tmp_path / "control" / "control.sqlite3")
    store.create(("/hls/*", "/a", "/b", "/c"), None)
    store.close()
    return config, logs[0], logs[1]


def test_report_sums_usage_per_pop_and_bills_from_the_price_table(
    setup: tuple[Path, Path, Path],
) -> None:
    """Requests, bytes and hit ratios per POP; egress by region, requests per 10k,
    paths past free.
    """
    config, iad_log, sin_log = setup
    result = CliRunner().invoke(
        app, ["report", str(iad_log), str(sin_log), "--config", str(config), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    usage = {u["pop"]: u for u in report["usage"]}
    assert usage["iad"]["requests"] == 5 and usage["iad"]["bytes"] == 4 * GIB
    assert usage["iad"]["hit_ratio"] == 0.75 and usage["iad"]["byte_hit_ratio"] == 0.75
    assert usage["iad"]["statuses"] == {"200": 4, "404": 1}
    assert usage["iad"]["top_objects"][0] == {"uri": "/hls/a.ts", "requests": 4, "bytes": 4 * GIB}
    assert usage["sin"]["hit_ratio"] == 0.5
    amounts = [line["amount"] for line in report["bill"]["lines"]]
    # ap-southeast at the "*" rate (0.20) for 1 GB, us-east 0.10 for 4 GB, 7 requests,
    # 2 billable paths
    assert amounts == pytest.approx([0.20, 0.40, 7 / 10_000, 1.0])
    assert report["bill"]["total"] == pytest.approx(1.6007)


def test_report_renders_tables_and_filters_by_month(setup: tuple[Path, Path, Path]) -> None:
    """The human form names every POP and the total; another month has no usage."""
    config, iad_log, sin_log = setup
    text = (
        CliRunner()
        .invoke(app, ["report", str(iad_log), str(sin_log), "--config", str(config)])
        .output
    )
    assert "iad" in text and "sin" in text and "Estimated bill" in text and "Total" in text
    empty = CliRunner().invoke(
        app, ["report", str(iad_log), "--config", str(config), "--month", "2001-01", "--json"]
    )
    assert json.loads(empty.output)["usage"] == []
    bad = CliRunner().invoke(
        app, ["report", str(iad_log), "--config", str(config), "--month", "May"]
    )
    assert bad.exit_code != 0
