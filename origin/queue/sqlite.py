"""The embedded engine: the same queue semantics in one SQLite file, for workers on one host.

A lease is a row's `lease_until`; taking a task is one IMMEDIATE transaction, so processes
sharing the file never take the same task while its lease holds. Rows are tiny and writes
commit at once (WAL), as in origin.jobs.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from origin.queue import DeadLetter, Delivery, Depth, Engine, Kind, Task
from streaming.config import QueueSettings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, kind TEXT NOT NULL,
    idx INTEGER NOT NULL, owner TEXT, lease_until REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, error TEXT
);
CREATE TABLE IF NOT EXISTS dead (
    id INTEGER PRIMARY KEY, job TEXT NOT NULL, kind TEXT NOT NULL, idx INTEGER NOT NULL,
    reason TEXT NOT NULL, attempts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    job TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (job, field)
);
CREATE TABLE IF NOT EXISTS locks (job TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS retired (job TEXT PRIMARY KEY, until REAL NOT NULL);
"""
LAPSED = "its worker stopped renewing the lease (killed or lost)"


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    return db


class SqliteQueue:
    """Tasks as rows; a row is takeable when its lease has passed (0: never taken)."""

    def __init__(self, db: sqlite3.Connection, settings: QueueSettings) -> None:
        self._db, self._timeout, self._max = db, settings.visibility_timeout, settings.max_attempts

    async def put(self, tasks: Sequence[Task]) -> None:
        self._db.executemany(
            "INSERT INTO tasks (job, kind, idx) VALUES (?, ?, ?)",
            [(t.job, t.kind.value, t.index) for t in tasks],
        )

    async def take(self, worker: str, wait: float) -> Delivery | DeadLetter | None:
        # The embedded engine does not block: an empty queue answers at once, the caller polls.
        now = time.time()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute(
                "SELECT id, job, kind, idx, attempts, error FROM tasks WHERE lease_until <= ? "
                "ORDER BY id LIMIT 1",
                (now,),
            ).fetchone()
            if row is None:
                self._db.execute("COMMIT")
                return None
            id_, job, kind, idx, attempts, error = row
            task = Task(str(job), Kind(kind), int(idx))
            if attempts >= self._max:
                reason = str(error) if error else LAPSED
                self._db.execute(
                    "INSERT INTO dead (id, job, kind, idx, reason, attempts) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (id_, job, kind, idx, reason, attempts),
                )
                self._db.execute("DELETE FROM tasks WHERE id = ?", (id_,))
                self._db.execute("COMMIT")
                return DeadLetter(task, reason, int(attempts))
            self._db.execute(
                "UPDATE tasks SET owner = ?, lease_until = ?, attempts = attempts + 1, "
                "error = NULL WHERE id = ?",
                (worker, now + self._timeout, id_),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return Delivery(task, str(id_), int(attempts) + 1, worker)

    async def renew(self, delivery: Delivery) -> bool:
        cursor = self._db.execute(
            "UPDATE tasks SET lease_until = ? WHERE id = ? AND owner = ? AND lease_until > ?",
            (time.time() + self._timeout, int(delivery.receipt), delivery.worker, time.time()),
        )
        return cursor.rowcount == 1

    async def ack(self, delivery: Delivery) -> None:
        self._db.execute("DELETE FROM tasks WHERE id = ?", (int(delivery.receipt),))

    async def fail(self, delivery: Delivery, reason: str) -> None:
        self._db.execute(
            "UPDATE tasks SET lease_until = 0, owner = NULL, error = ? WHERE id = ? AND owner = ?",
            (reason[:500], int(delivery.receipt), delivery.worker),
        )

    async def release(self, worker: str) -> None:
        self._db.execute(
            # Not an attempt that failed: the delivery is not counted.
            "UPDATE tasks SET lease_until = 0, owner = NULL, attempts = MAX(attempts - 1, 0) "
            "WHERE owner = ? AND lease_until > 0",
            (worker,),
        )

    async def depth(self) -> Depth:
        now = time.time()
        queued, running = self._db.execute(
            "SELECT COALESCE(SUM(lease_until <= ?), 0), COALESCE(SUM(lease_until > ?), 0) "
            "FROM tasks",
            (now, now),
        ).fetchone()
        (dead,) = self._db.execute("SELECT COUNT(*) FROM dead").fetchone()
        return Depth(int(queued), int(running), int(dead))

    async def dead_letters(self) -> list[DeadLetter]:
        rows = self._db.execute("SELECT job, kind, idx, reason, attempts FROM dead ORDER BY id")
        return [DeadLetter(Task(j, Kind(k), int(i)), r, int(a)) for j, k, i, r, a in rows]

    async def close(self) -> None:
        self._db.close()


class SqliteLedger:
    """Each job's fields as (job, field, value) rows."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    async def update(self, job: str, fields: Mapping[str, str]) -> None:
        self._db.executemany(
            "INSERT INTO ledger (job, field, value) VALUES (?, ?, ?) "
            "ON CONFLICT (job, field) DO UPDATE SET value = excluded.value",
            [(job, k, v) for k, v in fields.items()],
        )

    async def read(self, job: str) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT field, value FROM ledger WHERE job = ? AND NOT EXISTS "
            "(SELECT 1 FROM retired WHERE retired.job = ? AND until <= ?)",
            (job, job, time.time()),
        )
        return {str(k): str(v) for k, v in rows}

    async def retire(self, job: str, seconds: float) -> None:
        now = time.time()
        self._db.execute(
            "INSERT INTO retired (job, until) VALUES (?, ?) "
            "ON CONFLICT (job) DO UPDATE SET until = excluded.until",
            (job, now + seconds),
        )
        # Expired jobs go whenever another retires: no sweeper of its own.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("ledger", "locks"):
                self._db.execute(
                    f"DELETE FROM {table} WHERE job IN (SELECT job FROM retired WHERE until <= ?)",
                    (now,),
                )
            self._db.execute("DELETE FROM retired WHERE until <= ?", (now,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    async def lock(self, job: str, owner: str, seconds: float) -> bool:
        now = time.time()
        cursor = self._db.execute(
            "INSERT INTO locks (job, owner, until) VALUES (?, ?, ?) ON CONFLICT (job) DO UPDATE "
            "SET owner = excluded.owner, until = excluded.until "
            "WHERE locks.until <= ? OR locks.owner = excluded.owner",
            (job, owner, now + seconds, now),
        )
        return cursor.rowcount == 1

    async def unlock(self, job: str, owner: str) -> None:
        self._db.execute("DELETE FROM locks WHERE job = ? AND owner = ?", (job, owner))


def open_sqlite(settings: QueueSettings, path: Path) -> Engine:
    db = _connect(path)
    return Engine(SqliteQueue(db, settings), SqliteLedger(db), settings)
