"""Validation of everything that becomes part of a file or object path.

Every id and relative path a request carries passes through here before it touches storage,
so traversal (`..`, absolute paths, encoded or backslash separators) cannot reach the disk.
"""

from __future__ import annotations

import re
import secrets

from streaming.errors import InvalidPath

_VIDEO_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def new_video_id() -> str:
    """A fresh, URL-safe, unguessable video id."""
    return "v" + secrets.token_hex(8)


def video_id(value: str) -> str:
    """Return `value` if it is a well-formed video id, else raise InvalidPath."""
    if not _VIDEO_ID.fullmatch(value):
        raise InvalidPath(f"invalid video id {value!r}")
    return value


def relative_file(value: str, max_depth: int = 2) -> str:
    """Return `value` if it is a safe relative path of plain names, else raise InvalidPath."""
    parts = value.split("/")
    if not value or len(parts) > max_depth:
        raise InvalidPath(f"invalid file path {value!r}")
    for part in parts:
        if not _NAME.fullmatch(part) or ".." in part:
            raise InvalidPath(f"invalid file path {value!r}")
    return value
