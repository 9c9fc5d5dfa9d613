"""Durable invalidation records: every batch numbered in order, every edge's progress.

SQLite in WAL mode; a batch is committed before it is acknowledged to the caller, so an
invalidation the API accepted survives a control-plane restart.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS invalidations (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    caller_reference TEXT UNIQUE,
    paths TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS edge_progress (
    pop TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Batch:
    """One invalidation: its paths, order and creation time."""

    sequence: int
    id: str
    caller_reference: str | None
    paths: tuple[str, ...]
    created_at: float

    def public(self) -> dict[str, object]:
        return {
            "id": self.id, "sequence": self.sequence, "paths": list(self.paths),
            "caller_reference": self.caller_reference, "create_time": self.created_at,
        }  # fmt: skip


class InvalidationStore:
    """The control plane's database."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def create(self, paths: tuple[str, ...], caller_reference: str | None) -> tuple[Batch, bool]:
        """Record a batch; a repeated caller reference returns the existing one (created=False)."""
        if caller_reference is not None:
            existing = self._one(
                "SELECT * FROM invalidations WHERE caller_reference = ?", caller_reference
            )
            if existing is not None:
                return existing, False
        batch_id = "I" + secrets.token_hex(7).upper()
        self._db.execute(
            "INSERT INTO invalidations (id, caller_reference, paths, created_at) "
            "VALUES (?, ?, ?, ?)",
            (batch_id, caller_reference, json.dumps(list(paths)), time.time()),
        )
        batch = self.get(batch_id)
        assert batch is not None
        return batch, True

    def get(self, batch_id: str) -> Batch | None:
        return self._one("SELECT * FROM invalidations WHERE id = ?", batch_id)

    def after(self, sequence: int, limit: int = 1000) -> list[Batch]:
        rows = self._db.execute(
            "SELECT * FROM invalidations WHERE sequence > ? ORDER BY sequence LIMIT ?",
            (sequence, limit),
        ).fetchall()
        return [_batch(row) for row in rows]

    def recent(self, limit: int = 100) -> list[Batch]:
        rows = self._db.execute(
            "SELECT * FROM invalidations ORDER BY sequence DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_batch(row) for row in rows]

    def paths_since(self, since: float) -> int:
        """Invalidation paths created since `since` (a wildcard counts as one, as billed)."""
        rows = self._db.execute("SELECT paths FROM invalidations WHERE created_at >= ?", (since,))
        return sum(len(json.loads(row[0])) for row in rows)

    def acknowledge(self, pop: str, sequence: int) -> None:
        """An edge applied everything up to `sequence` (progress never moves backwards)."""
        self._db.execute(
            "INSERT INTO edge_progress (pop, sequence, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(pop) DO UPDATE SET sequence = max(sequence, excluded.sequence), "
            "updated_at = excluded.updated_at",
            (pop, sequence, time.time()),
        )

    def progress(self) -> dict[str, int]:
        return {
            pop: seq for pop, seq in self._db.execute("SELECT pop, sequence FROM edge_progress")
        }

    def _one(self, sql: str, *args: object) -> Batch | None:
        row = self._db.execute(sql, args).fetchone()
        return _batch(row) if row is not None else None


def _batch(row: tuple[object, ...]) -> Batch:
    sequence, batch_id, reference, paths, created = row
    return Batch(
        int(sequence), str(batch_id), str(reference) if reference is not None else None,  # type: ignore[call-overload]
        tuple(json.loads(str(paths))), float(created),  # type: ignore[arg-type]
    )  # fmt: skip
