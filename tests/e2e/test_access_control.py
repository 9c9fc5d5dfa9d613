"""Private content through real processes: cookies play a whole video, origins refuse viewers."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import m3u8
import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from streaming.policy import Policy
from tests.access import key_group, key_id, private_key, signer
from tests.factories import Topology, distribution_doc, running_topology
from tests.helpers import AUTH, upload, wait_state
from tests.limits import declared_only
from tests.npm_signing import npm_sign

pytestmark = pytest.mark.e2e
API = {
    "path_pattern": "/videos*", "target": "all",
    "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
    "ttl": {"min_ttl": 0, "default_ttl": 0, "max_ttl": 0},
    "forward_headers": ["authorization", "content-type"],
}  # fmt: skip


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Iterator[tuple[Topology, str]]:
    """One origin with an OAC secret and one edge whose every behavior trusts the `viewers` keys."""
    doc = distribution_doc(key_groups=[key_group("viewers", "alice")])
    for behavior in doc["behaviors"]:
        behavior["trusted_key_groups"] = ["viewers"]
    doc["behaviors"].insert(0, API)  # the job API through the edge: the admin token decides
    doc["origins"][0]["access_secret"] = "e2e-origin-secret"
    with running_topology(tmp_path_factory.mktemp("private"), doc) as topo:
        origin = topo.origin_url("us-east")
        video_id = upload(origin, clip)
        wait_state(origin, video_id)
        yield topo, video_id


def cookie_header(edge: str, video_id: str) -> dict[str, str]:
    policy = Policy(f"{edge}/hls/{video_id}/*", int(time.time()) + 300)
    return {"cookie": "; ".join(f"{k}={v}" for k, v in signer("alice").cookies(policy).items())}


def every_path(edge: str, video_id: str, headers: dict[str, str]) -> list[str]:
    """Master, media playlists and segments, walked through the edge with the viewer's cookies."""
    master_path = f"/hls/{video_id}/master.m3u8"
    master = m3u8.loads(httpx.get(edge + master_path, headers=headers, timeout=10).text)
    found = [master_path]
    for variant in master.playlists:
        media_path = f"/hls/{video_id}/{variant.uri}"
        media = m3u8.loads(httpx.get(edge + media_path, headers=headers, timeout=10).text)
        media_dir = media_path.rsplit("/", 1)[0]
        found += [media_path] + [f"{media_dir}/{s.uri}" for s in media.segments]
    return found


def test_cookies_play_every_file_through_the_edge_while_the_origin_refuses(
    private: tuple[Topology, str],
) -> None:
    """Each HLS file: 200 via the edge with cookies, 403 straight from the origin (OAC)."""
    topo, video_id = private
    edge, origin = topo.edge_url("iad"), topo.origin_url("us-east")
    headers = cookie_header(edge, video_id)
    paths = every_path(edge, video_id, headers)
    assert len(paths) >= 4
    for path in paths:
        via_edge = httpx.get(edge + path, headers=headers, timeout=10)
        direct = httpx.get(origin + path, headers=headers, timeout=10)
        assert via_edge.status_code == 200 and via_edge.content, path
        assert direct.status_code == 403 and direct.json()["reason"] == "unsigned", path


def test_viewers_without_or_with_foreign_cookies_get_403_reasons(
    private: tuple[Topology, str],
) -> None:
    """No cookies → missing; cookies for another video → resource_not_covered;
    X-Cache says Error.
    """
    topo, video_id = private
    edge = topo.edge_url("iad")
    anonymous = httpx.get(f"{edge}/hls/{video_id}/master.m3u8", timeout=10)
    foreign = httpx.get(
        f"{edge}/hls/{video_id}/master.m3u8", headers=cookie_header(edge, "vother"), timeout=10
    )
    assert (anonymous.status_code, anonymous.json()["reason"]) == (403, "missing")
    assert (foreign.status_code, foreign.json()["reason"]) == (403, "resource_not_covered")
    assert anonymous.headers["x-cache"] == foreign.headers["x-cache"] == "Error from iad"


def test_botocore_signed_url_plays_through_the_real_edge(private: tuple[Topology, str]) -> None:
    """A canned URL from the AWS SDK for the edge's address is accepted by the running edge."""
    topo, video_id = private
    key = private_key("alice")
    boto = CloudFrontSigner(
        key_id("alice"), lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA1())
    )  # type: ignore[union-attr, call-arg]
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    url = boto.generate_presigned_url(
        f"{topo.edge_url('iad')}/hls/{video_id}/master.m3u8", date_less_than=expires
    )
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200 and response.text.startswith("#EXTM3U")
    tampered = httpx.get(
        url.replace("master.m3u8", "master.m3u8?x=1").replace("?Expires", "&Expires"), timeout=10
    )
    assert tampered.status_code == 403


def test_secrets_and_signatures_never_reach_the_process_logs(private: tuple[Topology, str]) -> None:
    """After signed traffic, no process log holds the OAC secret, the admin token or a signature."""
    topo, video_id = private
    edge = topo.edge_url("iad")
    headers = cookie_header(edge, video_id)
    url = signer("alice").signed_url(
        f"{edge}/hls/{video_id}/master.m3u8", expires=int(time.time()) + 60
    )
    for request in (
        lambda: httpx.get(url, timeout=10),
        lambda: httpx.get(f"{edge}/hls/{video_id}/master.m3u8", headers=headers, timeout=10),
    ):
        assert request().status_code == 200
    signature = url.split("Signature=")[1].split("&")[0]
    logs = "".join(child.log_path.read_text(errors="replace") for child in topo.supervisor.children)
    for secret in (
        "e2e-origin-secret",
        "test-admin-token",
        signature,
        headers["cookie"].split("Signature=")[1][:40],
    ):
        assert secret not in logs


def test_aws_cloudfront_sign_urls_and_cookies_play_through_the_real_edge(
    private: tuple[Topology, str],
) -> None:
    """The npm library's URLs (Expires beside Policy) and cookies, made by node for the edge's
    address: a plain and a loopback-pinned URL play, a foreign range and other files are 403."""
    topo, video_id = private
    edge = topo.edge_url("iad")
    master = f"{edge}/hls/{video_id}/master.m3u8"
    ms = (int(time.time()) + 300) * 1000
    url, pinned, foreign, cookies = npm_sign([
        {"kind": "url", "url": master, "ms": ms},
        {"kind": "url", "url": master, "ms": ms, "ip": "127.0.0.0/8"},
        {"kind": "url", "url": master, "ms": ms, "ip": "203.0.113.0/24"},
        {"kind": "cookies", "url": f"{edge}/hls/{video_id}/*", "ms": ms},
    ])  # fmt: skip
    assert "Expires=" in url and "Policy=" in url
    for ok in (url, pinned):
        response = httpx.get(ok, timeout=10)
        assert response.status_code == 200 and response.text.startswith("#EXTM3U"), response.text
    refused = httpx.get(foreign, timeout=10)
    assert (refused.status_code, refused.json()["reason"]) == (403, "ip_not_allowed")
    other = httpx.get(url.replace("master.m3u8", "other.m3u8"), timeout=10)
    assert (other.status_code, other.json()["reason"]) == (403, "resource_not_covered")
    header = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    paths = every_path(edge, video_id, header)
    assert len(paths) >= 4
    for path in paths:
        assert httpx.get(edge + path, headers=header, timeout=10).status_code == 200, path


def test_the_origin_lists_nothing_and_serves_no_metadata_without_credentials(
    private: tuple[Topology, str],
) -> None:
    """The job list, a job, the live channels and video.json (the original file name): refused
    straight from the origin without the admin token, served with it."""
    topo, video_id = private
    origin = topo.origin_url("us-east")
    for path in ("/videos", f"/videos/{video_id}", "/live", f"/hls/{video_id}/video.json"):
        anonymous = httpx.get(origin + path, timeout=10)
        admin = httpx.get(origin + path, headers=AUTH, timeout=10)
        assert anonymous.status_code in (401, 403) and anonymous.json()["detail"], path
        assert admin.status_code == 200, path
    assert b"clip.mp4" not in httpx.get(f"{origin}/hls/{video_id}/video.json", timeout=10).content


def test_an_upload_through_the_edge_is_signed_over_its_body_and_the_api_needs_the_token(
    private: tuple[Topology, str], clip: Path
) -> None:
    """The edge spools the multipart body, signs its digest, the origin verifies it and takes
    the upload; an anonymous viewer asking the edge for the job API gets the origin's 401."""
    topo, _ = private
    edge = topo.edge_url("iad")
    with clip.open("rb") as fh:
        accepted = httpx.post(
            f"{edge}/videos", files={"file": ("clip.mp4", fh)}, headers=AUTH, timeout=30
        )
    assert accepted.status_code == 202, accepted.text
    video_id = accepted.json()["id"]
    assert httpx.get(f"{edge}/videos/{video_id}", headers=AUTH, timeout=10).status_code == 200
    anonymous = httpx.get(f"{edge}/videos", timeout=10)
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "unauthorized")


def test_a_real_origin_answers_a_huge_declared_body_before_reading_it(
    private: tuple[Topology, str],
) -> None:
    """10 GB declared, not one byte sent: 401 without the token and 413 with it, at once; the
    origin keeps serving."""
    topo, _ = private
    origin = topo.origin_url("us-east")
    commit = "/replicas/vaaaaaaaaaaaaaaaa/commit"
    status, body = declared_only(origin, commit, 10 * 1024**3)
    assert (status, body["error"]) == (401, "unauthorized")
    status, body = declared_only(origin, commit, 10 * 1024**3, AUTH)
    assert (status, body["error"]) == (413, "payload_too_large") and "limit" in str(body["detail"])
    assert httpx.get(f"{origin}/healthz", timeout=5).status_code == 200
