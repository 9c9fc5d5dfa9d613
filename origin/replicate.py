"""Replication of ready videos and deletes to the other regional origins: the sending side.

Whatever a peer lacks is first a row of the outbox (origin/outbox.py, in the job database), then
sent by one task per peer, and the row goes only once the peer confirmed: a sender killed
mid-replication resumes on start. A failed attempt waits `backoff_base` seconds, doubling up to
`backoff_cap`, for as long as it takes; an unreachable peer defers all its rows at once.

Reconcile, at start and every `reconcile_interval`: each origin lists every peer's inventory
(`GET /replicas`: ready videos with their digests, tombstones) and owes the peer what
`origin.inventory.plan` says it lacks, so a region that was down for an hour, or lost its disk,
converges without anyone re-uploading. A peer's list request is also its "I am back" (or "I
restarted": it names when its process started): the rows owed to it are retried, and it is
compared with, at once instead of after their back-off or the next round.

Modes (`Distribution.replication_mode`): "origin" sends every file; "storage" sends only the
commit, which the peer accepts once the storage engine has copied the video into its bucket;
"none" (one shared bucket) sends deletes only. The receiving side is origin/replicas.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Literal

import httpx

from origin.inventory import Inventory, digest, plan
from origin.jobs import Job, JobStore, State
from origin.outbox import Action, Backlog, Outbox, Owed
from origin.store import Store
from streaming.config import Origin, ReplicationSettings, Secret
from streaming.errors import BadRequest, StreamingError

log = logging.getLogger("origin.replicate")

Mode = Literal["origin", "storage", "none"]
LIST_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
BACKFILL = 20  # digests computed per reconcile round for videos ready before digests existed


@dataclass
class PeerView:
    """What this origin last learnt about one peer."""

    up: bool | None = None  # None: not heard from since start
    booted: float | None = None  # when the peer's process started, as its list requests say
    error: str | None = None  # why it was last unreachable
    listed_at: float | None = None  # wall clock of its last inventory
    videos: dict[str, str] = field(default_factory=dict)
    tombstones: set[str] = field(default_factory=set)
    sent: dict[str, str] = field(default_factory=dict)  # confirmed while its list was in flight


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: confirmed, or the error and whether the peer refused it."""

    ok: bool
    error: str = ""
    refused: bool = False  # the peer answered 4xx: shown as failed


def outcome(response: httpx.Response, action: Action, what: str) -> Outcome:
    """How an attempt went, from the peer's status."""
    status = response.status_code
    if status < 300 or (status == 410 and action is Action.PUBLISH):  # 410: the peer deleted it
        return Outcome(True)
    if status == 404 and action is Action.DELETE:
        return Outcome(True)
    try:
        detail = str(response.json()["detail"])
    except (ValueError, TypeError, KeyError):  # not our error body
        detail = response.text[:200]
    error = f"{what}: {status} {detail}".strip()
    # 404 on a commit: the staged files are gone (the peer restarted) or, in storage mode, the
    # engine has not copied everything yet; like 5xx and 429 it passes by itself.
    transient = status >= 500 or status in (404, 408, 429)
    return Outcome(False, error, refused=not transient)


class Replicator:
    """Works off the outbox to every peer and reconciles with them; answers their list requests."""

    def __init__(
        self, me: Origin, peers: tuple[Origin, ...], mode: Mode, settings: ReplicationSettings,
        jobs: JobStore, outbox: Outbox, store: Store, token: Secret, client: httpx.AsyncClient,
    ) -> None:  # fmt: skip
        self.me, self.peers, self.mode, self.settings = me, peers, mode, settings
        self.jobs, self.outbox, self.store = jobs, outbox, store
        self._auth = {"authorization": f"Bearer {token.reveal()}"}
        self._client = client
        self._views = {p.id: PeerView() for p in peers}
        self._wake = {p.id: asyncio.Event() for p in peers}
        self._reconcile_now = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.booted = time.time()  # sent with our list requests: a peer sees we restarted

    async def start(self) -> None:
        """Resume what the outbox holds and start reconciling."""
        self._tasks = [asyncio.create_task(self._deliver_forever(p)) for p in self.peers]
        if self.peers:
            self._tasks.append(asyncio.create_task(self._reconcile_forever()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # What the rest of the origin tells the replicator.

    async def ready(self, video_id: str) -> None:
        """`video_id` became ready here: record its digest and owe it to every peer."""
        try:
            self.jobs.set_digest(video_id, await digest(self.store, video_id))
        except (OSError, StreamingError) as exc:  # the next reconcile computes it
            log.warning("digest of %s failed: %s", video_id, exc)
        if self.mode != "none":
            self.outbox.owe(video_id, [p.id for p in self.peers], Action.PUBLISH)
        self._wake_all()

    def forget(self, video_id: str) -> None:
        """`video_id` is deleted here: tombstone it and owe its delete to every peer."""
        self.outbox.bury(video_id, [p.id for p in self.peers])
        self._wake_all()

    def heard_from(self, peer_id: str, booted: float | None = None) -> None:
        """A peer asked for our inventory, so it is up: if we thought otherwise, or it restarted
        (it may have lost its disk), retry what it is owed now and compare with it at once."""
        view = self._views.get(peer_id)
        if view is None:
            raise BadRequest(f"unknown origin {peer_id!r}: not a peer in the distribution")
        restarted = booted is not None and booted != view.booted
        view.booted = booted if booted is not None else view.booted
        if view.up is not True or restarted:
            self.outbox.hurry(peer_id)
            self._wake[peer_id].set()
            self._reconcile_now.set()

    def inventory(self) -> Inventory:
        """Ready videos with a digest, and every tombstone."""
        buried = frozenset(self.outbox.tombstones())
        videos = {j.id: j.digest for j in self.jobs.ready() if j.digest and j.id not in buried}
        return Inventory(videos, buried)

    # Sending.

    def _wake_all(self) -> None:
        for event in self._wake.values():
            event.set()

    async def _deliver_forever(self, peer: Origin) -> None:
        wake = self._wake[peer.id]
        while True:
            wake.clear()  # before looking: a row owed from here on sets it again
            owed = self.outbox.next(peer.id)
            wait = None if owed is None else owed.next_at - time.time()
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await wake.wait()
                continue
            assert owed is not None
            await self._attempt(peer, owed)

    def _backoff(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones, with a little jitter."""
        base, cap = self.settings.backoff_base, self.settings.backoff_cap
        return min(cap, base * 2 ** min(attempts, 32)) * random.uniform(0.8, 1.0)

    async def _attempt(self, peer: Origin, owed: Owed) -> None:
        view = self._views[peer.id]
        send = self._publish if owed.action is Action.PUBLISH else self._delete
        try:
            result = await send(peer, owed.video_id)
        except httpx.HTTPError as exc:  # refused, reset, timed out: the peer is unreachable
            delay = self._backoff(owed.attempts)
            view.up, view.error = False, f"{type(exc).__name__}: {exc}".rstrip(": ")
            self.outbox.retry(owed, view.error, delay)
            self.outbox.defer(peer.id, time.time() + delay)
            log.info("%s %s to %s: %s", owed.action, owed.video_id, peer.id, view.error)
            return
        except Exception as exc:
            if owed.action is Action.PUBLISH and self.jobs.get(owed.video_id) is None:
                return  # deleted here mid-push: its files went, and its delete is owed instead
            log.exception("%s %s to %s crashed", owed.action, owed.video_id, peer.id)
            result = Outcome(False, f"internal error: {exc}")  # reading our copy: try again
        if result.ok:
            self.outbox.done(owed)
            self._confirmed(view, owed)
            log.info("%s %s to %s: done", owed.action, owed.video_id, peer.id)
            return
        delay = self.settings.backoff_cap if result.refused else self._backoff(owed.attempts)
        self.outbox.retry(owed, result.error, delay, failed=result.refused)
        log.warning("%s %s to %s failed: %s", owed.action, owed.video_id, peer.id, result.error)

    def _confirmed(self, view: PeerView, owed: Owed) -> None:
        if owed.action is Action.DELETE:
            view.videos.pop(owed.video_id, None)
            view.tombstones.add(owed.video_id)
            return
        job = self.jobs.get(owed.video_id)
        if job is not None and job.digest:
            view.videos[owed.video_id] = view.sent[owed.video_id] = job.digest

    async def _publish(self, peer: Origin, video_id: str) -> Outcome:
        job = self.jobs.get(video_id)
        if job is None or job.state is not State.READY or self.outbox.buried(video_id):
            return Outcome(True)  # nothing to send any more
        files = await self.store.files(video_id)
        if self.mode == "origin":
            for relpath in files:
                size = (await self.store.stat(video_id, relpath)).size
                response = await self._client.put(
                    f"{peer.url}/replicas/{video_id}/files/{relpath}", headers=self._auth,
                    content=self.store.read(video_id, relpath, 0, size - 1),
                )  # fmt: skip
                if response.status_code >= 300:
                    return outcome(response, Action.PUBLISH, f"PUT {relpath}")
        commit = {
            "filename": job.filename, "size": job.size, "files": files, "home": job.home,
            "digest": job.digest or await digest(self.store, video_id),
        }  # fmt: skip
        response = await self._client.post(
            f"{peer.url}/replicas/{video_id}/commit", json=commit, headers=self._auth
        )
        return outcome(response, Action.PUBLISH, "commit")

    async def _delete(self, peer: Origin, video_id: str) -> Outcome:
        response = await self._client.delete(f"{peer.url}/replicas/{video_id}", headers=self._auth)
        return outcome(response, Action.DELETE, "delete")

    # Reconciling.

    async def _reconcile_forever(self) -> None:
        while True:
            self._reconcile_now.clear()
            try:
                await self._backfill()
                await asyncio.gather(*(self.reconcile(p) for p in self.peers))
            except Exception:
                log.exception("reconcile crashed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.reconcile_interval):
                    await self._reconcile_now.wait()

    async def _backfill(self) -> None:
        """Digests of ready videos that have none (ready before this version, or its digest
        failed), a few per round."""
        for job in [j for j in self.jobs.ready() if not j.digest][:BACKFILL]:
            try:
                self.jobs.set_digest(job.id, await digest(self.store, job.id))
            except (OSError, StreamingError) as exc:
                log.warning("digest of %s failed: %s", job.id, exc)

    async def reconcile(self, peer: Origin) -> None:
        """Compare inventories with `peer` and owe it whatever it lacks."""
        view = self._views[peer.id]
        view.sent.clear()
        try:
            response = await self._client.get(
                f"{peer.url}/replicas", params={"from": self.me.id, "booted": self.booted},
                headers=self._auth, timeout=LIST_TIMEOUT,
            )  # fmt: skip
            response.raise_for_status()
            theirs = Inventory.parse(response.json())
        except (httpx.HTTPError, ValueError, StreamingError) as exc:
            if view.up is not False:
                log.warning("reconcile with %s failed: %s", peer.id, exc)
            view.up, view.error = False, f"{type(exc).__name__}: {exc}".rstrip(": ")
            return
        came_back = view.up is not True
        view.up, view.error, view.listed_at = True, None, time.time()
        view.videos = {**theirs.videos, **view.sent}  # what was confirmed during the request
        view.tombstones = set(theirs.tombstones)
        seen = Inventory(dict(view.videos), frozenset(view.tombstones))
        packaged_here = frozenset(j.id for j in self.jobs.ready() if j.home == self.me.id)
        for video_id, action in plan(self.inventory(), packaged_here, seen, self.mode != "none"):
            self.outbox.owe(video_id, [peer.id], action)
        if came_back:
            self.outbox.hurry(peer.id)
        self._wake[peer.id].set()

    # What GET /videos/{id} and /metrics show.

    def regions(self, job: Job) -> dict[str, dict[str, object]]:
        """Each region's state of `job`: this one's job state, every peer's from the outbox
        and its last inventory."""
        owed = self.outbox.of(job.id)
        states: dict[str, dict[str, object]] = {self.me.region: {"state": job.state.value}}
        for peer in self.peers:
            states[peer.region] = self._peer_state(peer, job, owed.get(peer.id))
        return states

    def _peer_state(self, peer: Origin, job: Job, owed: Owed | None) -> dict[str, object]:
        if owed is not None:
            busy = "replicating" if owed.action is Action.PUBLISH else "deleting"
            found: dict[str, object] = {
                "state": "failed" if owed.failed else busy, "attempts": owed.attempts,
                "since": owed.created,
            }  # fmt: skip
            if owed.error:
                found["reason"] = owed.error
            return found
        if job.state is not State.READY:
            return {"state": "pending"}  # sent once it is ready here
        if self.mode == "none":
            return {"state": "ready"}  # every region reads the one bucket
        view = self._views[peer.id]
        if view.listed_at is None:
            return {"state": "unknown", "reason": view.error or "not compared yet"}
        if job.id in view.tombstones:
            return {"state": "deleted"}
        held = view.videos.get(job.id)
        if held is None:
            return {"state": "missing"}  # owed at the next reconcile (by whoever holds it)
        return {"state": "ready" if held == job.digest else "differs"}

    def deleted(self, video_id: str) -> str:
        """Why a tombstoned video is not found, naming the regions it is still being deleted in."""
        owed = self.outbox.of(video_id)
        regions = [p.region for p in self.peers if p.id in owed]
        return f"video {video_id} was deleted" + (
            f"; still deleting in {', '.join(regions)}" if regions else ""
        )

    def backlog(self) -> dict[str, tuple[Backlog, PeerView]]:
        """Rows owed (and the oldest's age) and the last view, by peer region."""
        rows = self.outbox.backlog()
        return {p.region: (rows.get(p.id, Backlog(0, None)), self._views[p.id]) for p in self.peers}
