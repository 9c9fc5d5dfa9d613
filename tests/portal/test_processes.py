"""Demo controls: kill, pause and restore act only on the demo's own processes, by name."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cli.portal import SupervisorRestarter
from portal.app import create_app
from portal.processes import Process, Status, status_of
from procs.supervisor import Supervisor
from tests.factories import TOKEN, distribution
from tests.limits import Untouched
from tests.portal.conftest import DemoChild, portal_client

pytestmark = pytest.mark.anyio
AUTH = {"authorization": f"Bearer {TOKEN}"}
Controls = tuple[httpx.AsyncClient, list[DemoChild], Supervisor]


@pytest.fixture
async def controls(
    tmp_path: Path, demo_state: tuple[Path, list[DemoChild]]
) -> AsyncIterator[Controls]:
    state, children = demo_state
    with Supervisor(tmp_path / "logs") as supervisor:
        app = create_app(distribution(), tmp_path, state, SupervisorRestarter(supervisor))
        async with portal_client(app) as client:
            yield client, children, supervisor


async def listed(client: httpx.AsyncClient) -> dict[str, dict[str, object]]:
    answer = await client.get("/api/demo/processes")
    return {p["name"]: p for p in answer.json()["processes"]}


async def act(
    client: httpx.AsyncClient, name: str, action: str, **kwargs: object
) -> httpx.Response:
    return await client.post(f"/api/demo/processes/{name}/{action}", **kwargs)  # type: ignore[arg-type]


async def test_lists_the_demo_processes_from_the_state_file(controls: Controls) -> None:
    """Every origin and edge of the state file is listed, running, with its PID."""
    client, children, _ = controls
    found = await listed(client)
    assert [(n, p["pid"], p["status"]) for n, p in found.items()] == [
        (c.name, c.process.pid, "running") for c in children
    ]


async def test_actions_need_the_admin_token(controls: Controls) -> None:
    """No token: 401; a wrong token: 403; the process is untouched either way."""
    client, children, _ = controls
    assert (await act(client, "edge-iad", "kill")).status_code == 401
    wrong = await act(client, "edge-iad", "kill", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "forbidden"
    assert children[1].process.poll() is None


async def test_pause_then_restore_stops_and_resumes_the_process(controls: Controls) -> None:
    """Pause is SIGSTOP (the server hangs), restore is SIGCONT (it answers again)."""
    client, children, _ = controls
    edge = children[1]
    assert (await act(client, "edge-iad", "pause", headers=AUTH)).json()["status"] == "paused"
    assert (await listed(client))["edge-iad"]["status"] == "paused"
    with pytest.raises(httpx.TimeoutException):
        httpx.get(edge.url, timeout=0.5)
    assert (await act(client, "edge-iad", "restore", headers=AUTH)).json()["status"] == "running"
    assert httpx.get(edge.url, timeout=5).status_code == 200


async def test_kill_then_restore_restarts_with_the_recorded_argv(controls: Controls) -> None:
    """Kill is SIGKILL; restore starts the same argv again and waits until it answers."""
    client, children, supervisor = controls
    origin = children[0]
    assert (await act(client, "origin-us-east", "kill", headers=AUTH)).json()["status"] == "stopped"
    assert origin.process.wait(timeout=5) == -9
    assert (await listed(client))["origin-us-east"]["status"] == "stopped"
    with pytest.raises(httpx.ConnectError):
        httpx.get(origin.url, timeout=1)

    answer = await act(client, "origin-us-east", "restore", headers=AUTH)
    assert answer.status_code == 200 and answer.json()["status"] == "running"
    restarted = supervisor.children[-1]
    assert restarted.argv == origin.argv and restarted.pid != origin.process.pid
    now = (await listed(client))["origin-us-east"]
    assert now["pid"] == restarted.pid and now["status"] == "running"
    assert httpx.get(origin.url, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("name", "action", "status", "reason"),
    [
        ("edge-xyz", "kill", 404, "no demo process 'edge-xyz'"),
        ("edge-iad", "explode", 400, "unknown action 'explode'"),
        ("edge-iad", "restore", 409, "already running"),
    ],
)
async def test_bad_requests_get_a_reason(
    controls: Controls, name: str, action: str, status: int, reason: str
) -> None:
    """Unknown names and actions, and actions that make no sense now, are refused clearly."""
    client, _, _ = controls
    answer = await act(client, name, action, headers=AUTH)
    assert answer.status_code == status
    assert reason in answer.json()["detail"]


async def test_actions_take_no_large_body_and_check_the_token_first(controls: Controls) -> None:
    """The token before anything is read; a body larger than a small bound is a 413."""
    client, _, _ = controls
    body = Untouched(b"x" * 5000)
    assert (await act(client, "edge-iad", "pause", content=body)).status_code == 401
    assert not body.read
    answer = await act(client, "edge-iad", "pause", content=b"x" * 5000, headers=AUTH)
    assert answer.status_code == 413 and answer.json()["error"] == "payload_too_large"
    assert (await listed(client))["edge-iad"]["status"] == "running"


def test_a_recycled_pid_is_never_signalled() -> None:
    """A PID whose command line is not the recorded argv counts as stopped, so kill is refused."""
    impostor = Process(
        "edge-iad", "edge", "iad", "http://127.0.0.1:1", os.getpid(), ["not", "this"]
    )
    assert status_of(impostor) is Status.STOPPED


async def test_controls_are_off_without_a_state_file(tmp_path: Path) -> None:
    """A portal started without --state has no controls, and says how to get them."""
    async with portal_client(create_app(distribution(), tmp_path)) as client:
        answer = await client.get("/api/demo/processes")
    assert answer.status_code == 404 and "--state" in answer.json()["detail"]


@pytest.mark.anyio
async def test_a_restored_process_stops_with_the_portal(tmp_path: Path) -> None:
    """A process the controls restored belongs to the portal: SIGTERM to the portal reaps it too
    (the server re-raises the signal after shutdown, so this must happen in the app's shutdown)."""
    from tests.browser.stack import portal_stack
    from tests.tls import make_ca

    (tmp_path / "pki").mkdir()
    make_ca(tmp_path / "pki")
    with portal_stack(tmp_path, tmp_path / "pki") as stack:
        async with httpx.AsyncClient(
            base_url=stack.portal, headers=AUTH, timeout=60, verify=stack.verify
        ) as client:
            assert (await client.post("/api/demo/processes/origin-eu-west/kill")).status_code == 200
            restored = await client.post("/api/demo/processes/origin-eu-west/restore")
            assert restored.status_code == 200, restored.text
            pid = int((await listed(client))["origin-eu-west"]["pid"])
        try:
            assert _alive(pid)
            stack.topology.supervisor.stop(stack.topology.child("portal"))
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(pid), f"restored origin {pid} outlived the portal"
        finally:
            if _alive(pid):  # reap it even when the behaviour under test is broken
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
