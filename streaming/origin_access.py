"""Origin access control: edges sign each origin request, origins accept only signed ones.

Like CloudFront's OAC (SigV4 from the edge to S3) in miniature: an HMAC-SHA256 with the origin's
`access_secret` over the method, the raw path with its query, the time, the edge's id and the
SHA-256 of the body (`x-cdn-content-sha256`, as SigV4's `x-amz-content-sha256`; absent means
the empty body). The origin rejects unsigned, stale (outside the clock-skew window) and wrongly
signed requests, so viewers cannot bypass the edges and their access checks, and it refuses a
body whose digest is not the signed one, so a captured signature cannot carry another body.
Signer and verifier live side by side.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from streaming.config import Secret
from streaming.errors import AccessDenied

EDGE_HEADER = "x-cdn-edge"
DATE_HEADER = "x-cdn-date"
SIGNATURE_HEADER = "x-cdn-signature"
CONTENT_HEADER = "x-cdn-content-sha256"
SIGNING_HEADERS = (EDGE_HEADER, DATE_HEADER, SIGNATURE_HEADER)
SKEW_SECONDS = 300  # SigV4 allows 5 minutes of clock difference too
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _digest(
    secret: Secret, method: str, target: str, timestamp: str, edge_id: str, content_sha256: str
) -> str:
    fields = ("CDN-HMAC-SHA256", method.upper(), target, timestamp, edge_id, content_sha256)
    return hmac.new(
        secret.reveal().encode(), "\n".join(fields).encode("latin-1", "replace"), hashlib.sha256
    ).hexdigest()


def sign(
    secret: Secret, method: str, target: str, edge_id: str, now: float,
    content_sha256: str = EMPTY_SHA256,
) -> dict[str, str]:  # fmt: skip
    """Headers that authenticate `method target` (raw path plus `?query`) from `edge_id` at
    `now`, with a body whose SHA-256 (lower-case hex) is `content_sha256`.
    """
    timestamp = str(int(now))
    return {
        EDGE_HEADER: edge_id,
        DATE_HEADER: timestamp,
        CONTENT_HEADER: content_sha256,
        SIGNATURE_HEADER: _digest(secret, method, target, timestamp, edge_id, content_sha256),
    }


def is_signed(headers: Mapping[str, str]) -> bool:
    """True when the request carries any of the signing headers (and must then verify)."""
    return any(name in headers for name in SIGNING_HEADERS)


def body_sha256(headers: Mapping[str, str]) -> str:
    """The body digest a request claims (the empty body's when it claims none)."""
    return headers.get(CONTENT_HEADER, EMPTY_SHA256)


def verify(secret: Secret, method: str, target: str, headers: Mapping[str, str], now: float) -> str:
    """Return the signing edge's id, or raise AccessDenied: `unsigned`, `malformed`, `stale`,
    `bad_signature`. The body itself is the receiver's to check against `body_sha256(headers)`.
    """
    edge_id = headers.get(EDGE_HEADER, "")
    timestamp = headers.get(DATE_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    content_sha256 = body_sha256(headers)
    if not (edge_id and timestamp and signature):
        raise AccessDenied("unsigned", "this origin only answers requests signed by an edge")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise AccessDenied("malformed", f"{DATE_HEADER} is not an epoch time")
    if not _SHA256_HEX.fullmatch(content_sha256):
        raise AccessDenied("malformed", f"{CONTENT_HEADER} is not a lower-case hex SHA-256")
    if abs(now - int(timestamp)) > SKEW_SECONDS:
        raise AccessDenied(
            "stale", f"the request was signed more than {SKEW_SECONDS}s away from now"
        )
    expected = _digest(secret, method, target, timestamp, edge_id, content_sha256)
    if not hmac.compare_digest(expected.encode(), signature.encode("latin-1", "replace")):
        raise AccessDenied("bad_signature", "the origin request signature does not match")
    return edge_id


def body_mismatch() -> AccessDenied:
    """The refusal for a body whose SHA-256 is not the signed one (receivers raise it)."""
    return AccessDenied(
        "body_mismatch", f"the request body does not match its signed {CONTENT_HEADER}"
    )
