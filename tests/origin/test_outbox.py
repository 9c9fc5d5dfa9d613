"""The outbox and tombstones: what a delete replaces, what survives reopening the database."""

from __future__ import annotations

import time
from pathlib import Path

from origin.jobs import JobStore
from origin.outbox import Action, Outbox

VIDEO = "v00000000000000aa"


def open_outbox(path: Path) -> tuple[JobStore, Outbox]:
    jobs = JobStore(path / "jobs.sqlite3")
    return jobs, Outbox(jobs.connection)


def test_rows_and_tombstones_survive_reopening_the_database(tmp_path: Path) -> None:
    """A sender killed with rows owed finds them, attempts and errors included, on start."""
    jobs, outbox = open_outbox(tmp_path)
    outbox.owe(VIDEO, ["eu-west", "ap-south"], Action.PUBLISH)
    owed = outbox.next("eu-west")
    assert owed is not None
    outbox.retry(owed, "ConnectError: refused", delay=5.0)
    outbox.bury("v00000000000000bb", ["eu-west"])
    jobs.close()

    _, again = open_outbox(tmp_path)
    rows = again.of(VIDEO)
    assert set(rows) == {"eu-west", "ap-south"}
    assert rows["eu-west"].attempts == 1 and rows["eu-west"].error == "ConnectError: refused"
    assert rows["eu-west"].next_at > time.time() + 4
    assert again.buried("v00000000000000bb") and not again.buried(VIDEO)
    assert again.backlog()["eu-west"].rows == 2


def test_a_delete_replaces_a_pending_publish_but_not_the_other_way_round(tmp_path: Path) -> None:
    """Owed a publish, then a delete: only the delete is sent, and the peer has been behind
    since the publish; a later publish of a buried video changes nothing."""
    _, outbox = open_outbox(tmp_path)
    outbox.owe(VIDEO, ["eu-west"], Action.PUBLISH)
    publish = outbox.of(VIDEO)["eu-west"]
    outbox.retry(publish, "503", delay=60)
    outbox.bury(VIDEO, ["eu-west", "ap-south"])
    outbox.owe(VIDEO, ["eu-west"], Action.PUBLISH)
    rows = outbox.of(VIDEO)
    assert {r.action for r in rows.values()} == {Action.DELETE}
    assert rows["eu-west"].attempts == 0 and rows["eu-west"].created == publish.created
    outbox.done(publish)  # the publish that was in flight finishes: the delete stays owed
    assert outbox.of(VIDEO)["eu-west"].action is Action.DELETE
    outbox.done(rows["eu-west"])
    assert set(outbox.of(VIDEO)) == {"ap-south"}


def test_defer_and_hurry_move_every_row_of_a_peer(tmp_path: Path) -> None:
    """An unreachable peer's rows wait together; when it is back they are all due at once."""
    _, outbox = open_outbox(tmp_path)
    for i in range(3):
        outbox.owe(f"v0000000000000{i:03d}", ["eu-west"], Action.PUBLISH)
    outbox.owe(VIDEO, ["ap-south"], Action.PUBLISH)
    outbox.defer("eu-west", time.time() + 60)
    assert all(r.next_at > time.time() + 50 for r in outbox.of("v0000000000000001").values())
    assert outbox.of(VIDEO)["ap-south"].next_at <= time.time()
    outbox.hurry("eu-west")
    owed = outbox.next("eu-west")
    assert owed is not None and owed.next_at <= time.time()
