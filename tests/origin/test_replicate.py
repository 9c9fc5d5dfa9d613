"""How a push or delete attempt counts, from the peer's answer alone."""

from __future__ import annotations

import httpx
import pytest

from origin.outbox import Action
from origin.replicate import Outcome, outcome


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        (204, Action.PUBLISH, Outcome(True)),
        (410, Action.PUBLISH, Outcome(True)),  # the peer deleted it: nothing more to send
        (404, Action.DELETE, Outcome(True)),  # already gone there
        (404, Action.PUBLISH, Outcome(False, "commit: 404 not yet")),  # retried with back-off
        (503, Action.DELETE, Outcome(False, "commit: 503 not yet")),
        (409, Action.PUBLISH, Outcome(False, "commit: 409 not yet", refused=True)),  # failed
        (401, Action.DELETE, Outcome(False, "commit: 401 not yet", refused=True)),
    ],
)
def test_the_peers_status_decides_done_retry_or_failed(
    status: int, action: Action, expected: Outcome
) -> None:
    answer = httpx.Response(status, json={"error": "x", "detail": "not yet"})
    assert outcome(answer, action, "commit") == expected


def test_a_body_that_is_not_ours_is_quoted_as_text() -> None:
    answer = httpx.Response(502, text="<html>bad gateway</html>")
    assert (
        outcome(answer, Action.PUBLISH, "PUT a.ts").error
        == "PUT a.ts: 502 <html>bad gateway</html>"
    )
