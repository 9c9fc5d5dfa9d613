"""HLS AES-128 for fMP4 streams, which ffmpeg's HLS muxer refuses ("Encrypted fmp4 not yet
supported"): each media segment encrypted whole (AES-128-CBC, PKCS#7), as ffmpeg does for TS.

The stream is packaged in the clear into a private staging directory that is never served;
only encrypted segments and a playlist that names the key reach the served directory. The
init segment stays in the clear: EXT-X-MAP comes before EXT-X-KEY, so the key applies to the
media segments only (RFC 8216 4.3.2.4), which is what hls.js and Safari decrypt.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from media import commands


def encrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-128-CBC over the whole segment, PKCS#7 padded (RFC 8216 5.2)."""
    padder = padding.PKCS7(128).padder()
    plain = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(plain) + encryptor.finalize()


def key_line(uri: str, iv: bytes) -> str:
    return f'#EXT-X-KEY:METHOD=AES-128,URI="{uri}",IV=0x{iv.hex()}'


def publish_encrypted(staged: Path, served: Path, key: bytes, uri: str) -> None:
    """Copy one packaged stream from `staged` to `served`: init as is, every listed segment
    encrypted with one random IV for the stream (as ffmpeg does), the playlist with EXT-X-KEY
    after its EXT-X-MAP. Segments are in place before the playlist that lists them."""
    served.mkdir(parents=True, exist_ok=True)
    iv = secrets.token_bytes(16)
    lines = (staged / commands.PLAYLIST_NAME).read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    for line in lines:
        out.append(line)
        if line.startswith("#EXT-X-MAP:"):
            init = line.split('URI="', 1)[1].split('"', 1)[0]
            shutil.copyfile(staged / init, served / init)
            out.append(key_line(uri, iv))
        elif line and not line.startswith("#"):
            (served / line).write_bytes(encrypt((staged / line).read_bytes(), key, iv))
    tmp = served / f".{commands.PLAYLIST_NAME}.tmp"
    tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
    os.replace(tmp, served / commands.PLAYLIST_NAME)
