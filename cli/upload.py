"""`streaming upload`: stream a file to an origin with a progress bar, then follow packaging."""

from __future__ import annotations

import time
from pathlib import Path
from typing import BinaryIO

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from streaming.errors import BadRequest, MediaError, StreamingError

console = Console()


class _ProgressReader:
    """A file wrapper that advances a progress bar as httpx reads chunks from it."""

    def __init__(self, fh: BinaryIO, progress: Progress, task: TaskID) -> None:
        self._fh, self._progress, self._task = fh, progress, task

    def read(self, size: int = -1) -> bytes:
        chunk = self._fh.read(size)
        self._progress.advance(self._task, len(chunk))
        return chunk


def _fail(response: httpx.Response) -> StreamingError:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return BadRequest(f"origin answered {response.status_code}: {detail}")


def upload_file(
    file: Path, origin: str, token: str | None, wait: bool, encryption: str | None = None,
    container: str | None = None,
) -> str:  # fmt: skip
    """Upload `file` to `origin`; with `wait`, follow packaging until ready. Returns the id.

    `encryption` ("aes-128" or "none") and `container` ("ts" or "fmp4") override the origin's
    defaults for this video.
    """
    if not file.is_file():
        raise BadRequest(f"no such file: {file}")
    if not token:
        raise BadRequest("an admin token is required: --token or STREAMING_ADMIN_TOKEN")
    base = origin.rstrip("/")
    headers = {"authorization": f"Bearer {token}"}
    params = {"encryption": encryption} if encryption else {}
    if container:
        params["container"] = container
    size = file.stat().st_size
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress, file.open("rb") as fh:
            task = progress.add_task(f"upload {file.name}", total=size)
            reader = _ProgressReader(fh, progress, task)
            response = _direct_upload(base, file, reader, size, headers, params)
            if response is None:  # the origin offers no direct upload: stream it through it
                response = httpx.post(
                    f"{base}/videos", files={"file": (file.name, reader)},  # type: ignore[dict-item]
                    params=params, headers=headers, timeout=httpx.Timeout(60.0, connect=5.0),
                )  # fmt: skip
    except httpx.HTTPError as exc:
        raise BadRequest(f"cannot reach the origin at {base}: {type(exc).__name__}") from None
    if response.status_code != 202:
        raise _fail(response)
    video_id = str(response.json()["id"])
    console.print(f"uploaded: id [bold]{video_id}[/]  status {base}/videos/{video_id}")
    if wait:
        follow(base, video_id, headers=headers)
    return video_id


def _direct_upload(
    base: str,
    file: Path,
    reader: _ProgressReader,
    size: int,
    headers: dict[str, str],
    params: dict[str, str],
) -> httpx.Response | None:
    """PUT the file to the pre-signed URL the origin offers, then ask it to package; None when
    the origin offers no direct upload (filesystem storage answers 404)."""
    timeout = httpx.Timeout(60.0, connect=5.0)
    offer = httpx.post(
        f"{base}/videos/uploads",
        params={"filename": file.name, **params},
        headers=headers,
        timeout=timeout,
    )
    if offer.status_code == 404:
        return None
    if offer.status_code != 201:
        raise _fail(offer)
    body = offer.json()
    chunks = iter(lambda: reader.read(1024 * 1024), b"")
    put = httpx.put(
        body["upload_url"], content=chunks, headers={"content-length": str(size)}, timeout=timeout
    )
    if put.status_code not in (200, 201, 204):
        raise BadRequest(f"object storage refused the upload: {put.status_code} {put.text[:200]}")
    return httpx.post(f"{base}{body['complete_url']}", headers=headers, timeout=timeout)


def describe(video_id: str, status: dict[str, object]) -> str:
    """The progress bar's label: the state, and with packager workers how many chunks are done
    and which workers are encoding (GET /videos/{id} `chunks`)."""
    label = f"{status['state']} {video_id}"
    chunks = status.get("chunks")
    if not isinstance(chunks, list) or not chunks:
        return label
    done = sum(1 for c in chunks if c.get("state") == "done")
    running = sorted({str(c["worker"]) for c in chunks if c.get("state") == "running"})
    label += f" · chunks {done}/{len(chunks)}"
    return label + (f" · encoding on {', '.join(running)}" if running else "")


def follow(
    base: str, video_id: str, timeout: float = 3600.0, headers: dict[str, str] | None = None
) -> dict[str, object]:
    """Show packaging progress until the video is ready (or raise MediaError when it failed);
    `headers` carry the admin token (the origin's job API is not public)."""
    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        console=console,
    ) as progress:
        task = progress.add_task(f"packaging {video_id}", total=1.0)
        while time.monotonic() < deadline:
            status = httpx.get(f"{base}/videos/{video_id}", headers=headers, timeout=5.0).json()
            progress.update(
                task,
                completed=float(status["progress"]),
                description=describe(video_id, status),
            )
            if status["state"] == "ready":
                console.print(f"ready: {base}{status['master_path']}")
                return dict(status)
            if status["state"] == "failed":
                raise MediaError(f"packaging failed: {status['error']}")
            time.sleep(0.3)
    raise MediaError(f"packaging did not finish within {timeout:.0f}s")
