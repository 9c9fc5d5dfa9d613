"""Deep links resolve to a master path, and private streams are recognised from the behaviors."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.playback import behavior_for, playback
from streaming.config import parse
from streaming.errors import BadRequest, InvalidPath, NotFound
from tests.factories import distribution, distribution_doc

VIDEO = "v0123456789abcdef"


def private_doc(*patterns: str) -> dict[str, Any]:
    """The test distribution with the behaviors matching `patterns` behind a key group."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    doc = distribution_doc(
        key_groups=[{"id": "viewers", "keys": [{"id": "K1", "public_key": pem.decode()}]}]
    )
    for behavior in doc["behaviors"]:
        if behavior["path_pattern"] in patterns:
            behavior["trusted_key_groups"] = ["viewers"]
    return doc


def test_path_patterns_follow_cloudfront_semantics() -> None:
    """`*` spans slashes, `?` is one character, the leading slash is optional, first match wins."""
    doc = distribution_doc()
    doc["behaviors"].insert(0, {"path_pattern": "hls/v?/*.jpg", "target": "all"})
    behaviors = parse(doc).behaviors
    assert behavior_for(behaviors, "/hls/v1/a/b.jpg").path_pattern == "hls/v?/*.jpg"
    assert behavior_for(behaviors, "/hls/v12/b.jpg").path_pattern == "/hls/*"
    assert behavior_for(behaviors, "/hls/x/index.m3u8").path_pattern == "/hls/*.m3u8"
    assert behavior_for(behaviors, "/elsewhere").path_pattern == "*"


def test_public_video_deep_link() -> None:
    """?video=<id> plays /hls/<id>/master.m3u8 without credentials when no key group guards it."""
    assert playback(distribution(), VIDEO, None) == {
        "cid": VIDEO, "kind": "vod", "path": f"/hls/{VIDEO}/master.m3u8", "private": False,
    }  # fmt: skip


@pytest.mark.parametrize("guarded", ["/hls/*.m3u8", "/hls/*"])
def test_a_guard_on_playlists_or_segments_makes_the_stream_private(guarded: str) -> None:
    """Signed cookies are needed if either the playlists or the segments are behind a key group."""
    assert playback(parse(private_doc(guarded)), VIDEO, None)["private"] is True


def test_live_deep_link_names_a_configured_channel() -> None:
    """?live=<channel> plays /live/<channel>/master.m3u8; an unknown channel lists the real ones."""
    dist = distribution(live_channels=[{"name": "news"}, {"name": "ll", "low_latency": True}])
    assert playback(dist, None, "news")["path"] == "/live/news/master.m3u8"
    assert playback(dist, None, "news")["kind"] == "live"
    assert playback(dist, None, "news")["low_latency"] is False
    assert playback(dist, None, "ll")["low_latency"] is True
    with pytest.raises(NotFound, match="has: news"):
        playback(dist, None, "sports")


@pytest.mark.parametrize(("video", "live", "error"), [
    (None, None, BadRequest), (VIDEO, "news", BadRequest), ("../../etc", None, InvalidPath),
])  # fmt: skip
def test_bad_deep_links(video: str | None, live: str | None, error: type[Exception]) -> None:
    """Exactly one of video/live, and ids that are safe in a path."""
    with pytest.raises(error):
        playback(distribution(), video, live)
