"""Invalidation at the edge: path matching, applying batches in order, syncing with control.

The control plane numbers every batch. An edge remembers (in its cache directory) the last
sequence it applied and pulls everything after it: on start, every `poll_interval`, and at
once when control pushes a nudge. An edge that was down therefore catches up when it returns.
Fills that were running when a matching batch arrived are not committed. A successful POST,
PUT, PATCH or DELETE through the edge drops what it changed at once (RFC 9111 §4.4).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from edge.cache import Entry
from edge.cache.tiers import TieredCache
from edge.metrics import EdgeMetrics
from streaming.config import ControlSettings, Secret

log = logging.getLogger("edge.invalidation")

RECENT = 1024  # batches remembered for in-flight fills


def matcher(paths: Iterable[str]) -> Callable[[str], bool]:
    """Exact paths, or prefixes written with a trailing `*` (CloudFront's only wildcard)."""
    exact = {p for p in paths if not p.endswith("*")}
    prefixes = tuple(p[:-1] for p in paths if p.endswith("*"))
    return lambda path: path in exact or path.startswith(prefixes)


def applied_sequence(state_file: Path) -> int:
    """The last invalidation sequence this POP applied (0: none yet)."""
    try:
        return int(state_file.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


class Invalidator:
    """Applies invalidation batches to the cache and remembers the last sequence applied."""

    def __init__(
        self, cache: TieredCache, state_file: Path, metrics: EdgeMetrics, sequence: int
    ) -> None:
        """`sequence`: `applied_sequence(state_file)`, read BEFORE `cache` loaded its disk
        index. A sibling worker applying a batch purges the disk and then saves its sequence:
        read in the other order, a restarted worker could hold an index entry of the purge and
        a sequence saying it is applied (it then served the stale body)."""
        self.cache, self.state_file, self.metrics = cache, state_file, metrics
        self.sequence = sequence
        self.generation = 0
        self._recent: deque[tuple[int, Callable[[str], bool]]] = deque(maxlen=RECENT)
        # Told ("invalidate" or "forget", fields) of what this worker applied on its own, so
        # the POP's sibling workers apply it too (their memory tiers, their fills).
        self.on_apply: Callable[[str, dict[str, Any]], None] | None = None

    def _save(self) -> None:
        tmp = self.state_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(str(self.sequence))
        os.replace(tmp, self.state_file)

    def apply(self, paths: list[str], sequence: int | None = None, announce: bool = True) -> int:
        """Remove every cached object a path matches; returns how many went. `announce`
        False: a sibling worker applied it first (and counted it)."""
        matches = matcher(paths)
        self.generation += 1
        self._recent.append((self.generation, matches))
        removed = self.cache.invalidate(lambda entry: _entry_matches(entry, matches))
        if sequence is not None and sequence > self.sequence:
            self.sequence = sequence
            if announce:
                self._save()
        if not announce:
            return removed
        self.metrics.invalidations.inc()
        self.metrics.invalidated.inc(removed)
        if self.on_apply is not None:
            self.on_apply("invalidate", {"paths": paths, "sequence": sequence})
        log.info("invalidation %s: %d paths, %d objects removed", sequence, len(paths), removed)
        return removed

    def invalidated_since(self, generation: int, path: str) -> bool:
        """True when a batch applied after `generation` matches `path` (do not commit it)."""
        return any(gen > generation and matches(path) for gen, matches in self._recent)

    def forget(self, key: str, path: str, announce: bool = True) -> None:
        """An unsafe request changed `path` (RFC 9111 §4.4): drop its stored answer (a Vary
        marker's variants go unreachable with it), and fills of it under way do not commit."""
        self.generation += 1
        self._recent.append((self.generation, lambda candidate: candidate == path))
        self.cache.delete(key)
        if announce and self.on_apply is not None:
            self.on_apply("forget", {"key": key, "path": path})


def unsafe_targets(
    path: str, query: str, host: str, headers: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(path, query) of what a successful unsafe request invalidates: its own URI, and the
    Location and Content-Location of its answer when they name this same host."""
    targets = [(path, query)]
    for name in ("location", "content-location"):
        if not (value := headers.get(name)):
            continue
        uri = urlsplit(value)
        if uri.netloc and uri.netloc.lower() != host.lower():
            continue  # another host's object: not ours to drop (RFC 9111 §4.4)
        if uri.path.startswith("/"):
            targets.append((unquote(uri.path), uri.query))
    return targets


def _entry_matches(entry: Entry, matches: Callable[[str], bool]) -> bool:
    return matches(entry.path)


class ControlSync:
    """Pulls invalidation batches from the control plane and acknowledges them."""

    def __init__(
        self, settings: ControlSettings, token: Secret, pop: str, invalidator: Invalidator,
        client: httpx.AsyncClient,
    ) -> None:  # fmt: skip
        self.settings, self.pop, self.invalidator, self.client = settings, pop, invalidator, client
        self._auth = {"authorization": f"Bearer {token.reveal()}"}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.last_error: str | None = None

    async def sync(self) -> int:
        """Apply every batch after our sequence, then tell control; returns the sequence."""
        async with self._lock:
            base = f"{self.settings.url}/admin/edges/{self.pop}"
            response = await self.client.get(
                f"{base}/invalidations", params={"after": self.invalidator.sequence},
                headers=self._auth, timeout=5.0,
            )  # fmt: skip
            response.raise_for_status()
            for batch in response.json()["invalidations"]:
                self.invalidator.apply(list(batch["paths"]), int(batch["sequence"]))
            await self.client.post(
                f"{base}/ack", json={"sequence": self.invalidator.sequence}, headers=self._auth,
                timeout=5.0,
            )  # fmt: skip
            self.last_error = None
            return self.invalidator.sequence

    async def try_sync(self) -> None:
        try:
            await self.sync()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            if self.last_error is None:
                log.warning("control plane %s unreachable: %s", self.settings.url, exc)
            self.last_error = type(exc).__name__

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Poll forever (cancelled at shutdown); a nudge from control polls at once."""
        while True:
            await self.try_sync()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval):
                    await self._wake.wait()
            self._wake.clear()
