"""The hostile-request suite's target: a demo-shaped distribution as real processes.

One origin with an OAC secret, one edge (granian, as in production), the behaviors of
config/demo.toml (public posters, an `/api/*` pass-through with strip-prefix, private `/drm/*`,
`*.m3u8`, thumbnails, `/hls/*` and a default `*`), two packaged AES-128 videos (the target and
"another" one a viewer may hold credentials for) and a cheap live channel. Every private object
is fetched once with valid cookies, so a leak is recognised by its bytes, not by a status.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import m3u8

from streaming.policy import Policy
from tests.access import key_group, signer
from tests.factories import TOKEN, Topology, distribution_doc, running_topology

AUTH = {"authorization": f"Bearer {TOKEN}"}
ORIGIN_SECRET = "security-suite-origin-secret"
DOMAIN = "cdn.demo.test"
CHANNEL = "sec"
LL_CHANNEL = "sec-ll"  # LL-HLS: its init segments and parts are private objects too
VIEWERS = "alice"  # the key the suite's valid credentials are signed with


def security_doc() -> dict[str, Any]:
    """config/demo.toml's behaviors and access settings on free loopback ports.

    Beside the demo's `/videos*` API behavior sits the broader `/api/*` pass-through with
    `strip-prefix` that the demo used to have: a misconfiguration the edge must contain.
    """
    trusted = {"trusted_key_groups": ["viewers"]}
    doc = distribution_doc(
        key_groups=[key_group("viewers", VIEWERS)],
        domain_names=[DOMAIN],
        live_channels=[{
            "name": CHANNEL, "source": "testsrc", "segment_duration": 1, "window": 6,
            "heights": [90], "frame_rate": 10,
        }, {
            "name": LL_CHANNEL, "source": "testsrc", "segment_duration": 1, "window": 6,
            "heights": [120], "frame_rate": 10, "low_latency": True,  # a master unlike sec's
        }],
    )  # fmt: skip
    doc["origins"][0]["access_secret"] = ORIGIN_SECRET
    doc["behaviors"] = [
        {"path_pattern": "/hls/*/poster.jpg", "target": "all"},
        {  # the origin's API, as the demo routes it (the origin wants its admin token)
            "path_pattern": "/videos*", "target": "all",
            "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
            "ttl": {"min_ttl": 0, "default_ttl": 0, "max_ttl": 0},
            "forward_headers": ["authorization", "content-type", "accept"],
        },
        {  # a broad pass-through with a rewrite: everything under /api/ goes to the origin
            "path_pattern": "/api/*", "target": "all",
            "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
            "ttl": {"min_ttl": 0, "default_ttl": 0, "max_ttl": 0},
            "forward_headers": ["authorization", "content-type", "accept"],
            "functions": [
                {"event": "origin-request", "name": "strip-prefix", "options": {"prefix": "/api"}}
            ],
        },
        {"path_pattern": "/drm/*", "target": "all", **trusted,
         "ttl": {"min_ttl": 5, "default_ttl": 30, "max_ttl": 60}, "compress": False},
        {"path_pattern": "*.m3u8", "target": "all", **trusted,
         "ttl": {"min_ttl": 0, "default_ttl": 2, "max_ttl": 86400}},
        {"path_pattern": "/hls/*/thumbnails.*", "target": "all", **trusted},
        {"path_pattern": "/hls/*", "target": "all", **trusted},
        {"path_pattern": "*", "target": "all", **trusted,
         "functions": [{"event": "viewer-response", "name": "security-headers"}]},
    ]  # fmt: skip
    return doc


def cookie_header(resource: str) -> str:
    """Signed cookies (custom policy) for `resource`, valid for ten minutes."""
    policy = Policy(resource, int(time.time()) + 600)
    return "; ".join(f"{k}={v}" for k, v in signer(VIEWERS).cookies(policy).items())


def video_cookies(video_id: str) -> str:
    """What the demo portal's login signs for a video: `*://*/*/<id>/*`."""
    return cookie_header(f"*://*/*/{video_id}/*")


@dataclass
class PrivateObject:
    """One object only a credentialed viewer may read, with the bytes it really has."""

    path: str
    body: bytes


@dataclass
class SecureStack:
    """The running processes and what is private on them."""

    topo: Topology
    target: str  # the video whose bytes must never leak
    other: str  # a video the hostile viewer does hold cookies for
    filename: str  # the target's original file name: metadata that must not leak either
    objects: list[PrivateObject] = field(default_factory=list)
    readable: list[bytes] = field(default_factory=list)  # what the hostile viewer may read
    live: bool = False

    @property
    def edge(self) -> str:
        return self.topo.edge_url("iad")

    @property
    def origin(self) -> str:
        return self.topo.origin_url("us-east")

    def address(self, component: str) -> tuple[str, int]:
        url = self.edge if component == "edge" else self.origin
        host, port = url.removeprefix("http://").split(":")
        return host, int(port)

    def paths(self) -> list[str]:
        return [o.path for o in self.objects]


def upload_named(origin: str, clip: Path, filename: str) -> str:
    with clip.open("rb") as fh:
        response = httpx.post(
            f"{origin}/videos?encryption=aes-128", files={"file": (filename, fh)},
            headers=AUTH, timeout=30,
        )  # fmt: skip
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def wait_ready(origin: str, video_id: str, timeout: float = 90) -> None:
    """Poll the job with the admin token (the job API may close to anonymous callers)."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = httpx.get(f"{origin}/videos/{video_id}", headers=AUTH, timeout=5).json()["state"]
        if state in ("ready", "failed"):
            break
        time.sleep(0.2)
    assert state == "ready", f"{video_id} is {state}"


def _get(stack: SecureStack, path: str, cookies: str) -> bytes:
    response = httpx.get(stack.edge + path, headers={"cookie": cookies}, timeout=10)
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return response.content


def collect_vod(stack: SecureStack, video_id: str) -> list[PrivateObject]:
    """Every private file of a video, read through the edge with valid cookies."""
    cookies = video_cookies(video_id)
    found: list[PrivateObject] = []

    def add(path: str) -> bytes:
        body = _get(stack, path, cookies)
        found.append(PrivateObject(path, body))
        return body

    master_path = f"/hls/{video_id}/master.m3u8"
    master = m3u8.loads(add(master_path).decode())
    for variant in master.playlists:
        media_path = f"/hls/{video_id}/{variant.uri}"
        media = m3u8.loads(add(media_path).decode())
        base = media_path.rsplit("/", 1)[0]
        for segment in media.segments:
            add(f"{base}/{segment.uri}")
    add(f"/drm/{video_id}/key")
    vtt = add(f"/hls/{video_id}/thumbnails.vtt").decode()
    sprite = next(line for line in vtt.splitlines() if "#xywh=" in line).split("#", 1)[0]
    add(f"/hls/{video_id}/{sprite}")
    return found


def collect_live(
    stack: SecureStack, timeout: float = 30, channel: str = CHANNEL
) -> list[PrivateObject]:
    """A live channel's master, media playlist and a segment, once it is on air (an LL-HLS
    channel's also its init segment and a part)."""
    cookies = cookie_header(f"*://*/live/{channel}/*")
    master_path = f"/live/{channel}/master.m3u8"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(stack.edge + master_path, headers={"cookie": cookies}, timeout=10)
        if response.status_code == 200:
            break
        time.sleep(0.5)
    else:
        return []
    found = [PrivateObject(master_path, response.content)]
    variant = m3u8.loads(response.text).playlists[0].uri
    media_path = f"/live/{channel}/{variant}"
    body = _get(stack, media_path, cookies)
    found.append(PrivateObject(media_path, body))
    playlist = m3u8.loads(body.decode())
    files = [s.uri for s in playlist.segments if s.uri][-1:]  # an LL one may be all parts
    files += [m.uri for m in playlist.segment_map[:1]]
    files += [p.uri for s in playlist.segments for p in s.parts][-1:]
    for name in files:
        path = f"{media_path.rsplit('/', 1)[0]}/{name}"
        found.append(PrivateObject(path, _get(stack, path, cookies)))
    return found


@contextmanager
def secure_stack(tmp: Path, clip: Path, other_clip: Path) -> Iterator[SecureStack]:
    """Start the topology, package two videos, collect the private bytes; always reap.

    The other video is another clip: identical bytes in both would be readable with the other
    video's cookies, so they could not tell a leak of the target from a legitimate answer.
    """
    with running_topology(tmp, security_doc()) as topo:
        origin = topo.origin_url("us-east")
        filename = f"private-original-{secrets.token_hex(6)}.mp4"
        target = upload_named(origin, clip, filename)
        other = upload_named(origin, other_clip, "other.mp4")
        for video_id in (target, other):
            wait_ready(origin, video_id)
        stack = SecureStack(topo, target, other, filename)
        stack.objects = collect_vod(stack, target)
        stack.readable = [o.body for o in collect_vod(stack, other)]
        for video_id in (target, other):  # posters are public
            stack.readable.append(httpx.get(f"{stack.edge}/hls/{video_id}/poster.jpg").content)
        live = collect_live(stack)
        live += collect_live(stack, channel=LL_CHANNEL) if live else []
        stack.objects += live
        stack.live = bool(live)
        yield stack
