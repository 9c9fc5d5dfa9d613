"""Durable packaging jobs in SQLite: a 202 for an upload is a row that survives restarts."""

from __future__ import annotations

import builtins
import sqlite3
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path


class State(StrEnum):
    UPLOADING = "uploading"  # a direct (pre-signed) upload was offered; waiting for /complete
    QUEUED = "queued"
    PACKAGING = "packaging"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    """One video and where its packaging stands."""

    id: str
    state: State
    progress: float
    error: str | None
    filename: str
    size: int
    created: float
    updated: float
    encryption: str = "none"  # a streaming.hls.Encryption value
    source: str = "local"  # where the upload is: "local" (uploads dir) or "storage" (bucket)
    home: str = ""  # the origin id that packaged it ("" when unknown: found in a shared bucket)
    digest: str | None = None  # of its manifest set once ready (origin.inventory.digest)
    container: str = "ts"  # a streaming.hls.Container value

    def public(self) -> dict[str, object]:
        data = asdict(self)
        data["state"] = self.state.value
        data["master_path"] = f"/hls/{self.id}/master.m3u8"
        data["poster_path"] = f"/hls/{self.id}/poster.jpg"
        data["thumbnails_path"] = f"/hls/{self.id}/thumbnails.vtt"
        if self.container == "fmp4" and self.encryption == "none":  # media.packager writes it
            data["mpd_path"] = f"/hls/{self.id}/manifest.mpd"
        del data["source"]
        return data


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    filename TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    encryption TEXT NOT NULL DEFAULT 'none',
    source TEXT NOT NULL DEFAULT 'local',
    home TEXT NOT NULL DEFAULT '',
    digest TEXT,
    container TEXT NOT NULL DEFAULT 'ts'
)
"""
_COLUMNS = ("id", "state", "progress", "error", "filename", "size", "created", "updated",
            "encryption", "source", "home", "digest", "container")  # fmt: skip
# Columns added after the first release, with their definitions, for older databases.
_ADDED = {
    "encryption": "TEXT NOT NULL DEFAULT 'none'", "source": "TEXT NOT NULL DEFAULT 'local'",
    "home": "TEXT NOT NULL DEFAULT ''", "digest": "TEXT",
    "container": "TEXT NOT NULL DEFAULT 'ts'",
}  # fmt: skip


class JobStore:
    """The jobs table; every write commits at once so a crash loses nothing acknowledged."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for column, definition in _ADDED.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {definition}")

    @property
    def connection(self) -> sqlite3.Connection:
        """The database connection, shared with the replication outbox (origin.outbox)."""
        return self._db

    def close(self) -> None:
        self._db.close()

    def create(
        self, job_id: str, filename: str, size: int, state: State = State.QUEUED,
        encryption: str = "none", source: str = "local", home: str = "", container: str = "ts",
    ) -> Job:  # fmt: skip
        now = time.time()
        self._db.execute(
            f"INSERT INTO jobs ({', '.join(_COLUMNS)}) "
            "VALUES (?, ?, 0, NULL, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (job_id, state.value, filename, size, now, now, encryption, source, home, container),
        )
        return self.get(job_id)  # type: ignore[return-value]

    def get(self, job_id: str) -> Job | None:
        row = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
        return _job(row) if row else None

    def list(self) -> list[Job]:
        return [
            _job(r)
            for r in self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs ORDER BY created")
        ]

    def update(
        self, job_id: str, *, state: State | None = None, progress: float | None = None,
        error: str | None = None, size: int | None = None,
    ) -> None:  # fmt: skip
        job = self.get(job_id)
        if job is None:
            return
        self._db.execute(
            "UPDATE jobs SET state = ?, progress = ?, error = ?, size = ?, updated = ? "
            "WHERE id = ?",
            (
                (state or job.state).value,
                job.progress if progress is None else progress,
                error if error is not None or state is not None else job.error,
                job.size if size is None else size,
                time.time(),
                job_id,
            ),
        )

    def set_digest(self, job_id: str, digest: str) -> None:
        self._db.execute("UPDATE jobs SET digest = ? WHERE id = ?", (digest, job_id))

    def ready(self) -> builtins.list[Job]:
        """Every ready video, the ones peers compare with theirs."""
        return [
            _job(r)
            for r in self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE state = ? ORDER BY created",
                (State.READY.value,),
            )
        ]

    def unfinished(self) -> builtins.list[Job]:
        """Jobs still queued or packaging, oldest first."""
        rows = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE state IN (?, ?) ORDER BY created",
            (State.QUEUED.value, State.PACKAGING.value),
        )
        return [_job(r) for r in rows]

    def fail_abandoned_uploads(self, offered_before: float) -> int:
        """Direct uploads offered before `offered_before` and never completed become `failed`."""
        cursor = self._db.execute(
            "UPDATE jobs SET state = ?, error = ?, updated = ? WHERE state = ? AND created < ?",
            (
                State.FAILED.value,
                "the direct upload was never completed",
                time.time(),
                State.UPLOADING.value,
                offered_before,
            ),
        )
        return cursor.rowcount

    def delete(self, job_id: str) -> None:
        self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def _job(row: tuple[object, ...]) -> Job:
    id_, state, progress, error, filename, size, created, updated, encryption, source = row[:10]
    home, digest, container = row[10:]
    return Job(
        id=str(id_), state=State(state), progress=float(progress),  # type: ignore[arg-type]
        error=None if error is None else str(error), filename=str(filename),
        size=int(size), created=float(created), updated=float(updated),  # type: ignore[arg-type, call-overload]
        encryption=str(encryption), source=str(source), home=str(home),
        digest=None if digest is None else str(digest), container=str(container),
    )  # fmt: skip
