"""Slow and idle clients cannot hold a component's connections, and many idle ones do not stop it.

The slow-header and idle holds started with the session (tests/security/slow.py) are judged
here: the server must close them within its header timeout (plus slack). Then hundreds of idle
sockets are opened at once, and a normal request must still be served while they are open and
after they are gone.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.security import known, slow
from tests.security.probe import Component, Prober
from tests.security.rawhttp import request
from tests.security.stack import SecureStack, video_cookies

pytestmark = pytest.mark.e2e

SLACK = 5.0
IDLE_SOCKETS = 500


def _hold(holds: list[slow.Hold], component: str, kind: str) -> slow.Hold:
    hold = next(h for h in holds if h.component == component and h.kind == kind)
    assert hold.done.wait(slow.CAP + 10), "the hold thread did not finish"
    return hold


@pytest.mark.parametrize(
    "case",
    [
        known.param(("edge", "slow-headers"), "edge slow headers"),
        known.param(("origin", "slow-headers"), "origin slow headers"),
        known.param(("edge", "idle"), "edge idle connection"),
        known.param(("origin", "idle"), "origin idle connection"),
        known.param(("edge", "keep-alive"), "edge idle keep-alive connection"),
        known.param(("origin", "keep-alive"), "origin idle keep-alive connection"),
    ],
)
def test_a_client_that_never_finishes_its_headers_is_cut_off_within_the_header_timeout(
    holds: list[slow.Hold], prober: Prober, case: tuple[str, str]
) -> None:
    component, kind = case
    hold = _hold(holds, component, kind)
    timeout = slow.header_timeouts()[component]
    prober.ledger.put("slow_connections", f"{component} {kind}", hold.describe())
    assert hold.closed_after is not None and hold.closed_after <= timeout + SLACK, (
        f"{hold.describe()}; the header timeout is {timeout:.0f} s"
    )


def _served(prober: Prober, stack: SecureStack, component: Component) -> bool:
    """A viewer's normal request: the target's master with its cookies (edge), health (origin)."""
    if component == "edge":
        path, headers = (
            f"/hls/{stack.target}/master.m3u8",
            [("Cookie", video_cookies(stack.target))],
        )
    else:
        path, headers = "/healthz", []
    x = prober.legitimate(component, request(path, prober.host(component), headers=headers))
    return x.status == 200


@pytest.mark.parametrize("component", ["edge", "origin"])
def test_hundreds_of_idle_connections_do_not_stop_a_normal_request(
    prober: Prober, stack: SecureStack, component: Component
) -> None:
    sockets: list[socket.socket] = []
    started = time.monotonic()
    try:
        for _ in range(IDLE_SOCKETS):
            sockets.append(socket.create_connection(stack.address(component), timeout=5))
        opened = time.monotonic() - started
        during = _served(prober, stack, component)
    finally:
        for sock in sockets:
            sock.close()
    after = _served(prober, stack, component)
    prober.ledger.put("idle_connections", component, (
        f"{len(sockets)} idle sockets opened in {opened:.2f} s; a normal request served while "
        f"they were open: {during}, after: {after}"
    ))  # fmt: skip
    prober.ledger.count(connections=len(sockets))
    assert during and after, f"served while {len(sockets)} idle: {during}, after: {after}"
