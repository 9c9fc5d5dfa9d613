"""The steered master of a private video through a real POP: the viewer's credentials go along."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import m3u8
import pytest

from procs.supervisor import free_port
from streaming.policy import Policy
from tests.access import key_group, signer
from tests.factories import Topology, distribution_doc, running_topology
from tests.helpers import upload, wait_state

pytestmark = pytest.mark.e2e
DOMAIN = "cdn.steer.test"
PLAYER = "http://player.test"


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Iterator[tuple[Topology, str]]:
    """One POP whose every behavior trusts the `viewers` keys, under a domain name, with CORS."""
    steering = {"url": f"http://127.0.0.1:{free_port()}", "check_interval": 0.2}
    doc = distribution_doc(
        key_groups=[key_group("viewers", "alice")], steering=steering, domain_names=[DOMAIN],
        cors={"allowed_origins": [PLAYER]},
    )  # fmt: skip
    for behavior in doc["behaviors"]:
        behavior["trusted_key_groups"] = ["viewers"]
    with running_topology(tmp_path_factory.mktemp("steered-private"), doc) as topo:
        origin = topo.origin_url("us-east")
        video_id = upload(origin, clip)
        wait_state(origin, video_id)
        yield topo, video_id


def steering_url(topo: Topology) -> str:
    assert topo.dist.steering is not None
    return topo.dist.steering.url


def cookies_for(resource: str) -> dict[str, str]:
    policy = Policy(resource, int(time.time()) + 300)
    return {"cookie": "; ".join(f"{k}={v}" for k, v in signer("alice").cookies(policy).items())}


def test_the_steered_master_plays_a_private_video_with_the_viewers_cookies(
    private: tuple[Topology, str],
) -> None:
    """Wildcard cookies (as the portal's login signs): steered master, its playlists, segments."""
    topo, video_id = private
    headers = cookies_for(f"*://*/*/{video_id}/*")
    answer = httpx.get(f"{steering_url(topo)}/hls/{video_id}/master.m3u8", headers=headers)
    assert answer.status_code == 200, answer.text
    assert "#EXT-X-CONTENT-STEERING" in answer.text and 'PATHWAY-ID="iad"' in answer.text
    variant = m3u8.loads(answer.text).playlists[0].uri
    assert variant.startswith(topo.edge_url("iad"))
    media = httpx.get(variant, headers=headers, timeout=10)
    assert media.status_code == 200, media.text
    segment = variant.rsplit("/", 1)[0] + "/" + m3u8.loads(media.text).segments[0].uri
    assert httpx.get(segment, headers=headers, timeout=10).status_code == 200


def test_credentials_for_the_distributions_domain_verify_through_steering(
    private: tuple[Topology, str],
) -> None:
    """The POP sees the distribution's name as Host, so a Resource naming it verifies: cookies
    from a viewer that reached steering by address, a signed URL from one that used the name."""
    topo, video_id = private
    base = steering_url(topo)
    cookies = cookies_for(f"http://{DOMAIN}/hls/{video_id}/*")
    by_cookie = httpx.get(f"{base}/hls/{video_id}/master.m3u8", headers=cookies)
    assert by_cookie.status_code == 200, by_cookie.text
    signed = signer("alice").signed_url(
        f"http://{DOMAIN}/hls/{video_id}/master.m3u8?region=us-east",
        expires=int(time.time()) + 60,
    )
    query = signed.split("?", 1)[1]
    by_url = httpx.get(
        f"{base}/hls/{video_id}/master.m3u8?{query}", headers={"host": DOMAIN}, timeout=10
    )
    assert by_url.status_code == 200, by_url.text
    assert by_url.text.startswith("#EXTM3U")


def test_without_or_with_foreign_credentials_the_pops_403_is_relayed(
    private: tuple[Topology, str],
) -> None:
    """No cookies → the POP's 403 `missing`; another video's → `resource_not_covered`; with the
    POP's X-Cache, as JSON, with CORS for the player."""
    topo, video_id = private
    url = f"{steering_url(topo)}/hls/{video_id}/master.m3u8"
    anonymous = httpx.get(url, headers={"origin": PLAYER})
    foreign = httpx.get(url, headers=cookies_for("*://*/*/vother0000000000/*"))
    assert (anonymous.status_code, anonymous.json()["reason"]) == (403, "missing")
    assert (foreign.status_code, foreign.json()["reason"]) == (403, "resource_not_covered")
    assert anonymous.headers["x-cache"] == "Error from iad"
    assert anonymous.headers["content-type"] == "application/json"
    assert anonymous.headers["access-control-allow-origin"] == PLAYER
    assert anonymous.headers["access-control-allow-credentials"] == "true"
