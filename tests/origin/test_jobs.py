"""The durable job table: restarts, abandoned direct uploads and databases from older versions."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from origin.jobs import JobStore, State


def test_unfinished_lists_queued_and_packaging_jobs_oldest_first(tmp_path: Path) -> None:
    """What the dispatcher follows: queued and packaging jobs, across a reopen; not the rest."""
    jobs = JobStore(tmp_path / "jobs.sqlite3")
    jobs.create("vqueued", "a.mp4", 10)
    jobs.create("vdone", "b.mp4", 10, state=State.READY)
    jobs.create("vrunning", "c.mp4", 10, state=State.PACKAGING)
    jobs.create("vfailed", "d.mp4", 10, state=State.FAILED)
    jobs.close()
    reopened = JobStore(tmp_path / "jobs.sqlite3")
    assert [j.id for j in reopened.unfinished()] == ["vqueued", "vrunning"]


def test_abandoned_direct_uploads_fail_with_a_reason(tmp_path: Path) -> None:
    """An offered direct upload that was never completed ends `failed`, newer offers stay."""
    jobs = JobStore(tmp_path / "jobs.sqlite3")
    jobs.create("vold", "a.mp4", 0, state=State.UPLOADING, source="storage")
    cutoff = time.time() + 0.001
    time.sleep(0.01)
    jobs.create("vnew", "b.mp4", 0, state=State.UPLOADING, source="storage")
    assert jobs.fail_abandoned_uploads(cutoff) == 1
    old, new = jobs.get("vold"), jobs.get("vnew")
    assert old is not None and old.state is State.FAILED and "never completed" in str(old.error)
    assert new is not None and new.state is State.UPLOADING


def test_a_database_from_before_encryption_and_sources_gains_the_columns(tmp_path: Path) -> None:
    """Rows written by the first release keep working: defaults fill the new columns."""
    path = tmp_path / "jobs.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL, progress REAL NOT NULL "
        "DEFAULT 0, error TEXT, filename TEXT NOT NULL, size INTEGER NOT NULL, created REAL NOT "
        "NULL, updated REAL NOT NULL)"
    )
    db.execute("INSERT INTO jobs VALUES ('vlegacy', 'ready', 1, NULL, 'a.mp4', 5, 1, 1)")
    db.commit()
    db.close()
    job = JobStore(path).get("vlegacy")
    assert job is not None and (job.encryption, job.source, job.state) == (
        "none",
        "local",
        State.READY,
    )
