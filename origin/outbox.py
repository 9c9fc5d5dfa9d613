"""What each peer region is still owed, in the job database: the outbox and the tombstones.

One row per (video, peer) says what that peer still lacks, `publish` or `delete`, with its
attempts and when to try next; a row goes away only once the peer confirmed. Rows live in the
same SQLite file as the jobs, so a sender killed mid-replication resumes them on start.

Tombstones remember every deleted video id for good: ids are never reused, so a tombstone always
wins over a copy some peer still holds or a push still in flight (docs/origin.md, Replication).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outbox (
        video_id TEXT NOT NULL,
        peer TEXT NOT NULL,
        action TEXT NOT NULL,
        created REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL,
        error TEXT,
        failed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (video_id, peer)
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (peer, next_at)",
    "CREATE TABLE IF NOT EXISTS tombstones (video_id TEXT PRIMARY KEY, deleted REAL NOT NULL)",
)
_COLUMNS = "video_id, peer, action, created, attempts, next_at, error, failed"


class Action(StrEnum):
    PUBLISH = "publish"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Owed:
    """One row: what `peer` still lacks of `video_id`, since `created` (wall clock)."""

    video_id: str
    peer: str
    action: Action
    created: float
    attempts: int
    next_at: float
    error: str | None
    failed: bool  # the peer refused it (4xx): shown as failed, still retried at the cap


@dataclass(frozen=True, slots=True)
class Backlog:
    rows: int
    oldest: float | None  # `created` of the oldest row


class Outbox:
    """The outbox and tombstone tables on the job database's connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        for statement in _SCHEMA:
            self._db.execute(statement)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def owe(self, video_id: str, peers: Iterable[str], action: Action) -> None:
        """Record that `peers` lack `video_id`. A delete replaces a pending publish (keeping how
        long the peer has been behind); a publish never replaces a pending delete."""
        now = time.time()
        with self._transaction():
            for peer in peers:
                if action is Action.DELETE:
                    self._owe_delete(video_id, peer, now)
                else:
                    self._db.execute(
                        f"INSERT INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, NULL, 0) "
                        "ON CONFLICT (video_id, peer) DO NOTHING",
                        (video_id, peer, action.value, now, now),
                    )

    def _owe_delete(self, video_id: str, peer: str, now: float) -> None:
        self._db.execute(
            f"INSERT INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, NULL, 0) "
            "ON CONFLICT (video_id, peer) DO UPDATE SET action = excluded.action, "
            "attempts = 0, next_at = excluded.next_at, error = NULL, failed = 0 "
            "WHERE action != excluded.action",
            (video_id, peer, Action.DELETE.value, now, now),
        )

    def bury(self, video_id: str, peers: Iterable[str] = ()) -> None:
        """Tombstone `video_id` and owe its delete to `peers`, in one transaction; the publishes
        it still owed to anyone else are dropped."""
        now = time.time()
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO tombstones (video_id, deleted) VALUES (?, ?)",
                (video_id, now),
            )
            for peer in peers:
                self._owe_delete(video_id, peer, now)
            self._db.execute(
                "DELETE FROM outbox WHERE video_id = ? AND action = ?",
                (video_id, Action.PUBLISH.value),
            )

    def buried(self, video_id: str) -> bool:
        query = "SELECT 1 FROM tombstones WHERE video_id = ?"
        return self._db.execute(query, (video_id,)).fetchone() is not None

    def tombstones(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT video_id FROM tombstones ORDER BY deleted")]

    def next(self, peer: str) -> Owed | None:
        """The row for `peer` that is due first (it may not be due yet)."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE peer = ? ORDER BY next_at LIMIT 1", (peer,)
        ).fetchone()
        return _owed(row) if row else None

    def of(self, video_id: str) -> dict[str, Owed]:
        """Every row still owed for `video_id`, by peer."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE video_id = ?", (video_id,))
        return {r[1]: _owed(r) for r in rows}

    def done(self, owed: Owed) -> None:
        """The peer confirmed `owed`; a row that was replaced meanwhile (a delete after a
        publish) stays."""
        self._db.execute(
            "DELETE FROM outbox WHERE video_id = ? AND peer = ? AND action = ?",
            (owed.video_id, owed.peer, owed.action.value),
        )

    def retry(self, owed: Owed, error: str, delay: float, failed: bool = False) -> None:
        """Count a failed attempt and set when to try again."""
        self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_at = ?, error = ?, failed = ? "
            "WHERE video_id = ? AND peer = ? AND action = ?",
            (time.time() + delay, error[:500], int(failed), owed.video_id, owed.peer,
             owed.action.value),
        )  # fmt: skip

    def defer(self, peer: str, until: float) -> None:
        """Nothing for `peer` before `until` (it is unreachable: no point trying each row)."""
        self._db.execute(
            "UPDATE outbox SET next_at = ? WHERE peer = ? AND next_at < ?", (until, peer, until)
        )

    def hurry(self, peer: str) -> None:
        """Everything owed to `peer` is due now (it is back)."""
        self._db.execute("UPDATE outbox SET next_at = ? WHERE peer = ?", (time.time(), peer))

    def backlog(self) -> dict[str, Backlog]:
        """Rows owed and the oldest row's age, by peer (peers owed nothing are absent)."""
        rows = self._db.execute("SELECT peer, COUNT(*), MIN(created) FROM outbox GROUP BY peer")
        return {peer: Backlog(int(count), float(oldest)) for peer, count, oldest in rows}


def _owed(row: tuple[object, ...]) -> Owed:
    video_id, peer, action, created, attempts, next_at, error, failed = row
    return Owed(
        str(video_id), str(peer), Action(action), float(created),  # type: ignore[arg-type]
        int(attempts), float(next_at), None if error is None else str(error),  # type: ignore[call-overload, arg-type]
        bool(failed),
    )  # fmt: skip
