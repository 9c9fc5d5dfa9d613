"""After every hostile request: each process is alive, healthy and still serves its viewers.

Runs last (tests/security/conftest.py orders it), and records the figures of the run.
"""

from __future__ import annotations

import httpx
import pytest

from tests.security import slow
from tests.security.ledger import report
from tests.security.probe import Prober
from tests.security.stack import SecureStack, video_cookies

pytestmark = pytest.mark.e2e


def test_every_process_is_alive_and_answers_its_health_check(
    prober: Prober, stack: SecureStack, holds: list[slow.Hold]
) -> None:
    children = stack.topo.supervisor.children
    alive = {c.name: c.process is not None and c.process.poll() is None for c in children}
    healthy = {}
    for child in children:
        try:
            healthy[child.name] = httpx.get(child.health_url, timeout=5).status_code == 200
        except httpx.HTTPError:
            healthy[child.name] = False
    serving = sum(alive[name] and healthy[name] for name in alive)
    prober.ledger.note("processes", len(children))
    prober.ledger.note("processes_serving", serving)
    prober.ledger.count(connections=len(holds))
    tracebacks = sum(c.log_path.read_text(errors="replace").count("Traceback") for c in children)
    prober.ledger.note("tracebacks_in_logs", tracebacks)
    assert serving == len(children), f"alive: {alive}, healthy: {healthy}"


def test_a_viewer_with_cookies_still_plays_every_private_object(
    prober: Prober, stack: SecureStack
) -> None:
    """Nothing hostile poisoned the cache: each object still has its own bytes."""
    cookies = video_cookies(stack.target)
    for obj in stack.objects:
        if obj.path.startswith("/live/"):
            continue  # a live playlist moves on; its segment is checked by the survival above
        response = httpx.get(stack.edge + obj.path, headers={"cookie": cookies}, timeout=10)
        assert response.status_code == 200 and response.content == obj.body, obj.path


def test_the_whole_run_leaked_nothing_and_answered_no_5xx(prober: Prober) -> None:
    """The tally over every test of the suite (individual tests also fail on their own)."""
    assert not prober.ledger.findings, report(prober.ledger.findings)
