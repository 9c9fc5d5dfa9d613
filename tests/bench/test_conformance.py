"""The HTTP caching test suite against one real POP of ours: conformance only ratchets up.

The whole suite (npm http-cache-tests) runs against a `streaming edge` process in front of the
suite's own origin, as `make conformance` does, without nginx and within two minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import conformance
from bench import conformance_report as report
from procs.supervisor import Supervisor

pytestmark = [pytest.mark.e2e, pytest.mark.serial]
LISTEN = "0A"  # the TCP state column of /proc/net/tcp*
LOOPBACK = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def listeners(port: int) -> set[tuple[str, str]]:
    """(table, local address in hex) of every socket listening on `port`, IPv4 and IPv6."""
    found = set()
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        for line in path.read_text().splitlines()[1:] if path.exists() else []:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == LISTEN and int(hex_port, 16) == port:
                found.add((table, address))
    return found


def test_the_suites_origin_listens_on_loopback_only(tmp_path: Path) -> None:
    """The suite's server binds every interface by itself; origin.mjs keeps it on 127.0.0.1."""
    suite = conformance.Suite.at(conformance.SUITE)
    with Supervisor(tmp_path / "logs") as sup:
        url = conformance.start_origin(sup, tmp_path, suite)
        port = int(url.rsplit(":", 1)[1])
        assert listeners(port) == {("tcp", LOOPBACK)}
    assert all(c.process is not None and c.process.poll() is not None for c in sup.children)


@pytest.mark.timeout(120)
def test_required_passes_never_drop_below_the_committed_floor(tmp_path: Path) -> None:
    """Our edge passes at least bench/conformance/floor.txt of the suite's required tests; the
    message names what fails most, so a drop says where to look.

    A test the suite scores `retry` (the origin saw one request twice: it cannot judge) counts
    as undecided, not failed, so a retried origin request does not make the gate flaky."""
    suite = conformance.Suite.at(conformance.SUITE)
    raw = tmp_path / "ours.json"
    with Supervisor(tmp_path / "logs") as sup:
        origin = conformance.start_origin(sup, tmp_path, suite)
        ours, _ = conformance.start_ours(sup, tmp_path, origin)
        results = conformance.run_suite(suite, ours.url, raw, timeout=90)
    assert all(c.process is not None and c.process.poll() is not None for c in sup.children)
    assert len(results) > 300  # a full run, not one suite
    scored = conformance.score(suite, {"ours": raw}, published=False)
    counts = report.counts(scored.tests, scored.runs["ours"])
    failing = report.required_failures(scored.tests, scored.runs["ours"])
    undecided = sum(outcome.outcome == "retry" for _, outcome in failing)
    floor = conformance.floor()
    common = report.common_messages(scored.tests, scored.runs["ours"], top=5)
    assert counts.required_pass + undecided >= floor, (
        f"{counts.required_pass}/{counts.required} required tests pass ({undecided} undecided), "
        f"the floor is {floor}; "
        "most common failures: " + "; ".join(f"{len(ids)}× {text}" for text, ids in common)
    )
