"""HLS kinds, content types and playlist facts."""

from __future__ import annotations

import pytest

from streaming.hls import Encryption, Kind, PlaylistType, content_type, kind_of, playlist_facts


@pytest.mark.parametrize(
    ("path", "kind", "ctype"),
    [
        ("/hls/v1/master.m3u8", Kind.MASTER, "application/vnd.apple.mpegurl"),
        ("/hls/v1/720p/index.m3u8", Kind.MEDIA_PLAYLIST, "application/vnd.apple.mpegurl"),
        ("/hls/v1/720p/seg_00001.ts", Kind.SEGMENT, "video/mp2t"),
        ("/hls/v1/720p/init.mp4", Kind.INIT, "video/mp4"),
        ("/drm/v1/key", Kind.KEY, "application/octet-stream"),
        ("/hls/v1/poster.jpg", Kind.THUMBNAIL, "image/jpeg"),
        ("/hls/v1/thumbs.vtt", Kind.SUBTITLE, "text/vtt"),
    ],
)
def test_paths_classify_to_kind_and_type(path: str, kind: Kind, ctype: str) -> None:
    """The HLS kind and the Apple-recommended MIME type follow from the path."""
    assert kind_of(path) is kind
    if kind is not Kind.KEY:
        assert content_type(path) == ctype


def test_playlist_facts_tell_vod_event_live_and_master() -> None:
    """TTL rules need master/media, the playlist type and the target duration."""
    head = b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n"
    assert (
        playlist_facts(head + b"#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-ENDLIST\n").type
        is PlaylistType.VOD
    )
    event = playlist_facts(head + b"#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:4,\na.ts\n")
    assert event.type is PlaylistType.EVENT and event.target_duration == 4
    assert playlist_facts(head + b"#EXTINF:4,\na.ts\n").type is PlaylistType.LIVE
    assert playlist_facts(b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n").is_master


def test_config_upload_api_and_cli_share_one_encryption_vocabulary() -> None:
    """The origin's default, `POST /videos?encryption=&container=` (validated by the leaf's
    delivery_format) and `streaming upload --encryption/--container` take their values from
    one definition in the leaf."""
    from cli import Container as cli_container
    from cli import Encryption as cli_option
    from origin.routes import delivery_format as upload_parameter
    from streaming.config import LiveChannel, OriginSettings
    from streaming.hls import Container, delivery_format

    assert cli_option is Encryption and upload_parameter is delivery_format
    assert cli_container is Container
    assert OriginSettings.model_fields["encryption"].annotation is Encryption
    assert OriginSettings.model_fields["container"].annotation is Container
    assert LiveChannel.model_fields["container"].annotation is Container
    assert [e.value for e in Encryption] == ["none", "aes-128"]
    assert [c.value for c in Container] == ["ts", "fmp4"]
