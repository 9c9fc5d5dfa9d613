"""`streaming packager` workers on Redis and SeaweedFS, all real processes: an origin enqueues,
three workers share one job, one SIGKILLed mid-chunk has its chunk taken over by another, and
the result plays start to end with nothing half-published; a task failing every attempt fails
its video with the reason."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import m3u8
import pytest
import redis

from media.samples import make_clip
from procs.supervisor import Child, Supervisor, cli_argv, free_port
from tests.factories import distribution_doc, write_config
from tests.helpers import AUTH, upload, wait_state
from tests.media.readback import probe_segment
from tests.origin.conftest import start_origin
from tests.origin.redis_server import redis_server
from tests.origin.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedFS

SECONDS = 24
LADDER = [{"short_side": 240, "video_kbps": 300, "audio_kbps": 64},
          {"short_side": 160, "video_kbps": 150, "audio_kbps": 64}]  # fmt: skip


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def clip(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packagers") / "clip.mp4"
    return asyncio.run(make_clip(ffmpeg, out, seconds=SECONDS, width=426, height=240))


def doc_for(s3: SeaweedFS, url: str, prefix: str) -> dict[str, Any]:
    return distribution_doc(
        origin={
            "segment_duration": 2.0, "storage": s3.storage(prefix), "ladder": LADDER,
            "queue": {"engine": "redis", "url": url, "visibility_timeout": 2,
                      "max_attempts": 3, "chunk_seconds": 4},
        }
    )  # fmt: skip


def start_packager(sup: Supervisor, config: Path, name: str, tmp: Path) -> Child:
    port = free_port()
    argv = cli_argv(
        "packager", "--config", str(config), "--port", str(port), "--id", name,
        "--data", str(tmp / name),
    )  # fmt: skip
    return sup.start(name, argv, f"http://127.0.0.1:{port}/healthz")


def ledger(client: redis.Redis, video_id: str) -> dict[str, str]:
    raw: dict[bytes, bytes] = client.hgetall(f"streaming:job:{video_id}")  # type: ignore[assignment]
    return {k.decode(): v.decode() for k, v in raw.items()}


def chunk(fields: dict[str, str], index: int) -> dict[str, str]:
    return json.loads(fields.get(f"chunk:{index}", "{}"))  # type: ignore[no-any-return]


def played(origin: str, video_id: str) -> tuple[dict[str, float], set[str]]:
    """Seconds of each media playlist, every segment read back by libavformat; and every path
    the presentation names (master, playlists, segments), relative to the video."""
    base = f"{origin}/hls/{video_id}/"
    master = m3u8.loads(httpx.get(base + "master.m3u8", headers=AUTH).text)
    named = {"master.m3u8"}
    seconds: dict[str, float] = {}
    for uri in [str(p.uri) for p in master.playlists] + [str(m.uri) for m in master.media]:
        named.add(uri)
        media = m3u8.loads(httpx.get(base + uri, headers=AUTH).text)
        assert media.is_endlist and media.playlist_type == "vod", uri
        folder = uri.rsplit("/", 1)[0]
        for segment in media.segments:
            body = httpx.get(f"{base}{folder}/{segment.uri}", headers=AUTH)
            assert body.status_code == 200, segment.uri
            probed = probe_segment(body.content)
            assert probed.has_video or probed.has_audio, segment.uri
            named.add(f"{folder}/{segment.uri}")
        seconds[uri] = sum(float(s.duration) for s in media.segments)
    return seconds, named


def stored(s3: SeaweedFS, prefix: str, video_id: str) -> set[str]:
    client = boto3.client(
        "s3", endpoint_url=s3.endpoint_url, region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
    )  # fmt: skip
    base = f"{prefix}{video_id}/"
    pages = client.get_paginator("list_objects_v2").paginate(Bucket="videos", Prefix=base)
    return {o["Key"][len(base) :] for page in pages for o in page.get("Contents", [])}


def test_workers_share_a_job_and_a_killed_workers_chunk_is_taken_over(
    s3_server: SeaweedFS, redis_url: str, clip: Path, tmp_path: Path
) -> None:
    doc = doc_for(s3_server, redis_url, "packagers-kill/")
    config = write_config(tmp_path / "distribution.toml", doc)
    origin = doc["origins"][0]["url"]
    client = redis.Redis.from_url(redis_url)
    with Supervisor(tmp_path / "logs") as sup:
        children = [start_origin(sup, config, "us-east", origin, tmp_path)]
        names = ["p1", "p2", "p3"]
        children += [start_packager(sup, config, name, tmp_path) for name in names]
        for child in children:
            sup.wait_healthy(child, timeout=60)
        video_id = upload(origin, clip)

        # SIGKILL the first worker seen in the middle of a chunk (ffmpeg and all). Not chunk 0:
        # then the playlists grow up to the killed chunk and wait for its takeover.
        victim, killed = "", -1
        seen: set[tuple[str | None, bool]] = set()
        deadline = time.monotonic() + 120
        while not victim and time.monotonic() < deadline:
            fields = ledger(client, video_id)
            for i in range(1, int(fields.get("count", "0"))):
                state = chunk(fields, i)
                if state.get("state") == "running" and f"result:{i}" not in fields:
                    victim, killed = state["worker"], i
                    process = children[1 + names.index(victim)].process
                    assert process is not None
                    os.killpg(process.pid, signal.SIGKILL)
                    break
            time.sleep(0.005)
        assert victim, f"no worker was seen running a chunk: {ledger(client, video_id)}"

        # Meanwhile the origin serves the presentation as it grows.
        while time.monotonic() < deadline:
            status = httpx.get(f"{origin}/videos/{video_id}", headers=AUTH).json()
            if status["state"] not in ("queued", "packaging"):
                break
            playlist = httpx.get(f"{origin}/hls/{video_id}/240p/index.m3u8", headers=AUTH)
            if playlist.status_code == 200:
                media = m3u8.loads(playlist.text)
                # The last poll may see the final VOD playlist before the origin's status
                # says ready; nothing in between (an EVENT with ENDLIST) is ever seen.
                seen.add((media.playlist_type, media.is_endlist))
            time.sleep(0.05)
        status = wait_state(origin, video_id, "ready", timeout=120)
        seconds, named = played(origin, video_id)
        survivor = children[1 + names.index(next(n for n in names if n != victim))]
        metrics_url = survivor.health_url.replace("/healthz", "/metrics")
        assert httpx.get(metrics_url).status_code == 401, "a worker's metrics need the token"
        metrics = httpx.get(metrics_url, headers=AUTH).text

    chunks = status["chunks"]
    assert isinstance(chunks, list) and len(chunks) == SECONDS // 4
    survivors = set(names) - {victim}
    assert {c["worker"] for c in chunks} >= survivors, f"both others encoded chunks: {chunks}"
    assert chunks[killed]["worker"] in survivors, "the killed worker's chunk was taken over"
    assert all(c["state"] == "done" and c["progress"] == 1 for c in chunks), chunks
    assert ("event", False) in seen, "the media playlist was served (EVENT) while it grew"
    assert seen <= {("event", False), ("vod", True)}, seen
    for uri, total in seconds.items():
        assert total == pytest.approx(SECONDS, abs=0.15), uri
    done = re.search(r'^packager_tasks_total\{kind="chunk",outcome="done"\} (\S+)$', metrics, re.M)
    assert done and float(done[1]) >= 1, metrics
    media = re.search(r"^packager_media_seconds_total (\S+)$", metrics, re.M)
    assert media and float(media[1]) >= 4, "a chunk is 4 s of media"
    thumbs = {"poster.jpg", "thumbnails.jpg", "thumbnails.vtt"}
    extra = stored(s3_server, "packagers-kill/", video_id) - named - thumbs - {"video.json"}
    assert not extra, f"objects no playlist names (half-published?): {sorted(extra)}"


def test_a_task_failing_every_attempt_fails_the_video_with_the_reason(
    s3_server: SeaweedFS, redis_url: str, tmp_path: Path
) -> None:
    doc = doc_for(s3_server, redis_url, "packagers-dead/")
    config = write_config(tmp_path / "distribution.toml", doc)
    origin = doc["origins"][0]["url"]
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video at all\n" * 50)
    with Supervisor(tmp_path / "logs") as sup:
        children = [start_origin(sup, config, "us-east", origin, tmp_path),
                    start_packager(sup, config, "p1", tmp_path)]  # fmt: skip
        for child in children:
            sup.wait_healthy(child, timeout=60)
        video_id = upload(origin, bad)
        status = wait_state(origin, video_id, "failed", timeout=60)
        metrics = httpx.get(f"{origin}/metrics", headers=AUTH).text
    assert str(status["error"]).startswith("plan failed after 3 attempts: "), status
    assert 'origin_queue_tasks{state="dead"}' in metrics
