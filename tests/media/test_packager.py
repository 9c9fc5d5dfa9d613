"""Packaging real sources: ladder, master attributes, EVENT→VOD, awkward inputs, AES-128."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import av
import m3u8
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from media import packager, thumbnails
from media.probe import probe
from tests.media import sources
from tests.media.readback import probe_segment

SEGMENT = 1.0
KEY = bytes(range(16))


@dataclass(frozen=True)
class Packaged:
    out: Path
    master: m3u8.M3U8


def package(ffmpeg: str, source: Path, out: Path, **kwargs: object) -> Packaged:
    info = probe(source)
    asyncio.run(packager.package(ffmpeg, source, out, info, SEGMENT, **kwargs))  # type: ignore[arg-type]
    return Packaged(out, m3u8.load(str(out / "master.m3u8")))


def video_stream(path: Path) -> av.video.stream.VideoStream:
    return av.open(str(path)).streams.video[0]


@pytest.fixture(scope="module")
def hd(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    """A 3 s 1280x720 source, packaged in the clear."""
    work = tmp_path_factory.mktemp("hd")
    return package(ffmpeg, sources.clip(ffmpeg, work / "720.mp4", "1280x720"), work / "out")


@pytest.fixture(scope="module")
def sd_encrypted(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    """A 3 s 640x360 source, packaged with AES-128."""
    work = tmp_path_factory.mktemp("sd")
    source = sources.clip(ffmpeg, work / "360.mp4", "640x360")
    return package(ffmpeg, source, work / "out", encryption=packager.AesKey(KEY, "/drm/v123/key"))


def test_720p_source_gets_720_480_360_never_upscaled(hd: Packaged) -> None:
    """Only rungs at or below the source height, tallest first, each with its own playlist."""
    names = [p.uri for p in hd.master.playlists]
    assert names == ["720p/index.m3u8", "480p/index.m3u8", "360p/index.m3u8"]


def test_master_attributes_match_the_encoded_renditions(hd: Packaged) -> None:
    """BANDWIDTH ≥ AVERAGE-BANDWIDTH, RESOLUTION as encoded, CODECS as the SPS says (High 3.1
    for 720p, Main 3.0 below), FRAME-RATE."""
    codecs = []
    for variant in hd.master.playlists:
        info = variant.stream_info
        rung_dir = hd.out / variant.uri.split("/")[0]
        first = sorted(rung_dir.glob("seg_*.ts"))[0]
        stream = video_stream(first)
        assert info.resolution == (stream.codec_context.width, stream.codec_context.height)
        assert stream.codec_context.format.name == "yuv420p"
        assert info.codecs == probe_segment(first).sps_codecs + ",mp4a.40.2"
        codecs.append(info.codecs)
        assert info.frame_rate == 25
        assert info.bandwidth >= info.average_bandwidth > 0
        # The peak is measured from the segments: the largest segment's bit rate.
        media = m3u8.load(str(rung_dir / "index.m3u8"))
        rates = [(rung_dir / s.uri).stat().st_size * 8 / s.duration for s in media.segments]
        assert info.bandwidth == int(max(rates))
    assert codecs == ["avc1.64001f,mp4a.40.2", "avc1.4d401e,mp4a.40.2", "avc1.4d401e,mp4a.40.2"]


def test_renditions_are_aligned_vod_playlists(hd: Packaged) -> None:
    """Every rendition has the same segment boundaries, each segment opens on a keyframe."""
    layouts = []
    for variant in hd.master.playlists:
        media = m3u8.load(str(hd.out / variant.uri))
        assert media.playlist_type == "vod" and media.is_endlist and media.target_duration == 1
        layouts.append([round(s.duration, 2) for s in media.segments])
        for segment in media.segments:
            path = hd.out / variant.uri.split("/")[0] / segment.uri
            packet = next(p for p in av.open(str(path)).demux(video=0) if p.size)
            assert packet.is_keyframe, path
    assert len({tuple(layout) for layout in layouts}) == 1
    assert sum(layouts[0]) == pytest.approx(3.0, abs=0.1)


def test_360p_source_gets_one_360p_rung(sd_encrypted: Packaged) -> None:
    """A 640x360 source is not upscaled: one rendition, 640x360."""
    assert [(p.uri, p.stream_info.resolution) for p in sd_encrypted.master.playlists] == [
        ("360p/index.m3u8", (640, 360))
    ]


def test_aes128_segments_decrypt_with_the_key_and_playlist_iv(sd_encrypted: Packaged) -> None:
    """EXT-X-KEY names the key URI; AES-128-CBC with the stated IV yields MPEG-TS again."""
    media = m3u8.load(str(sd_encrypted.out / "360p/index.m3u8"))
    key = media.keys[-1]
    assert key.method == "AES-128" and key.uri == "/drm/v123/key"
    assert (sd_encrypted.out / packager.KEY_FILE).read_bytes() == KEY
    assert not (sd_encrypted.out / packager.PRIVATE_DIR / "keyinfo.txt").exists()
    for index, segment in enumerate(media.segments):
        iv = (
            bytes.fromhex(key.iv[2:])
            if key.iv
            else (media.media_sequence + index).to_bytes(16, "big")
        )
        data = (sd_encrypted.out / "360p" / segment.uri).read_bytes()
        assert data[0] != 0x47  # really encrypted
        decryptor = Cipher(algorithms.AES(KEY), modes.CBC(iv)).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(plain) + unpadder.finalize()
        assert len(plain) % 188 == 0 and all(plain[i] == 0x47 for i in range(0, len(plain), 188))


def test_poster_and_thumbnail_sprite_with_webvtt_index(hd: Packaged) -> None:
    """A poster at up to 720p, a sprite of 160-px tiles and VTT cues pointing into it."""
    poster = video_stream(hd.out / thumbnails.POSTER_NAME).codec_context
    assert (poster.width, poster.height) == (1280, 720)
    grid = thumbnails.sprite_grid(3.0, 1280, 720)
    sprite = video_stream(hd.out / thumbnails.SPRITE_NAME).codec_context
    assert (sprite.width, sprite.height) == (grid.columns * 160, grid.rows * 90)
    vtt = (hd.out / thumbnails.INDEX_NAME).read_text()
    assert vtt.startswith("WEBVTT")
    assert vtt.count("thumbnails.jpg#xywh=") == grid.count == 2
    assert "00:00:02.000 --> 00:00:03.000\nthumbnails.jpg#xywh=160,0,160,90" in vtt


def test_event_playlist_is_served_before_the_vod_one(ffmpeg: str, tmp_path: Path) -> None:
    """While the source still arrives, playlists are EVENT without ENDLIST; then VOD, ENDLIST."""
    source = sources.clip(ffmpeg, tmp_path / "source.ts", "320x180", seconds=14)
    data = source.read_bytes()
    fifo = tmp_path / "arriving.ts"
    os.mkfifo(fifo)
    release = threading.Event()

    def feed() -> None:
        # The first half now, the rest only once the test has seen the open EVENT playlist.
        with fifo.open("wb") as pipe:
            pipe.write(data[: len(data) // 2])
            pipe.flush()
            release.wait(timeout=30)
            pipe.write(data[len(data) // 2 :])

    out = tmp_path / "out"
    playlist = out / "180p" / "index.m3u8"

    async def run() -> str:
        job = asyncio.create_task(packager.package(ffmpeg, fifo, out, probe(source), SEGMENT))
        try:
            for _ in range(300):
                text = playlist.read_text() if playlist.exists() else ""
                if "#EXTINF" in text:
                    return text
                await asyncio.sleep(0.05)
            return ""
        finally:
            release.set()
            await job

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    during = asyncio.run(run())
    feeder.join(timeout=10)
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in during and "#EXT-X-ENDLIST" not in during
    assert (out / "master.m3u8").exists(), "the master is published once every rung is playable"
    final = playlist.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in final and final.rstrip().endswith("#EXT-X-ENDLIST")
    assert final.count("#EXTINF") > during.count("#EXTINF")


ODD = ["no audio", "odd dimensions", "rotation metadata", "variable frame rate", "4:2:2 10-bit"]


@pytest.mark.parametrize("kind", ODD)
def test_awkward_sources_become_8bit_420_h264(
    kind: str, ffmpeg: str, odd_inputs: dict[str, Path], tmp_path: Path
) -> None:
    """Every rendition is H.264 as CODECS says, yuv420p, even-sized, in the display orientation."""
    packaged = package(ffmpeg, odd_inputs[kind], tmp_path / "out")
    info = probe(odd_inputs[kind])
    for variant in packaged.master.playlists:
        media = m3u8.load(str(packaged.out / variant.uri))
        assert media.is_endlist and media.segments
        segment = packaged.out / variant.uri.split("/")[0] / media.segments[0].uri
        ctx = video_stream(segment).codec_context
        assert (ctx.name, ctx.format.name) == ("h264", "yuv420p")
        assert variant.stream_info.codecs.split(",")[0] == probe_segment(segment).sps_codecs
        assert ctx.width % 2 == 0 and ctx.height % 2 == 0
        assert variant.stream_info.resolution == (ctx.width, ctx.height)
        assert (ctx.width < ctx.height) == (info.display_width < info.display_height)
        assert ("mp4a" in variant.stream_info.codecs) == info.has_audio


def test_first_segment_is_cut_into_startup_segments_for_a_fast_start(
    ffmpeg: str, tmp_path: Path
) -> None:
    """With 4 s segments the first 4 s come as four 1 s segments (playable after ~1 s of
    encoding), then full 4 s segments; the target duration stays 4 and rungs stay aligned."""
    source = sources.clip(ffmpeg, tmp_path / "ten.mp4", "854x480", seconds=10)
    out = tmp_path / "out"
    asyncio.run(packager.package(ffmpeg, source, out, probe(source), 4.0))
    layouts = set()
    for rung in ("480p", "360p"):
        media = m3u8.load(str(out / rung / "index.m3u8"))
        assert media.target_duration == 4
        layouts.add(tuple(round(s.duration, 2) for s in media.segments))
    assert layouts == {(1.0, 1.0, 1.0, 1.0, 4.0, 2.0)}


def test_a_clip_shorter_than_one_thumbnail_interval_still_packages(
    ffmpeg: str, tmp_path: Path
) -> None:
    """A 0.4 s upload gets its playlist, a poster from its first frame and a one-tile sprite."""
    source = sources.clip(ffmpeg, tmp_path / "blink.mp4", "320x180", seconds=0.4)
    packaged = package(ffmpeg, source, tmp_path / "out")
    assert m3u8.load(str(packaged.out / "180p/index.m3u8")).is_endlist
    sprite = video_stream(packaged.out / thumbnails.SPRITE_NAME).codec_context
    assert (sprite.width, sprite.height) == (160, 90)
    assert (packaged.out / thumbnails.POSTER_NAME).stat().st_size > 0
    assert (packaged.out / thumbnails.INDEX_NAME).read_text().count("#xywh=") == 1
