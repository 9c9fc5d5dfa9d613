"""Origin access control: edges sign each origin request, origins accept only signed ones.

Like CloudFront's OAC (SigV4 from the edge to S3) in miniature: an HMAC-SHA256 with the origin's
`access_secret` over the method, the raw path with its query, the time and the edge's id. The
origin rejects unsigned, stale (outside the clock-skew window) and wrongly signed requests, so
viewers cannot bypass the edges and their access checks. Signer and verifier live side by side.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from streaming.config import Secret
from streaming.errors import AccessDenied

EDGE_HEADER = "x-cdn-edge"
DATE_HEADER = "x-cdn-date"
SIGNATURE_HEADER = "x-cdn-signature"
SKEW_SECONDS = 300  # SigV4 allows 5 minutes of clock difference too


def _digest(secret: Secret, method: str, target: str, timestamp: str, edge_id: str) -> str:
    message = "\n".join(("CDN-HMAC-SHA256", method.upper(), target, timestamp, edge_id))
    return hmac.new(
        secret.reveal().encode(), message.encode("latin-1", "replace"), hashlib.sha256
    ).hexdigest()


def sign(secret: Secret, method: str, target: str, edge_id: str, now: float) -> dict[str, str]:
    """Headers that authenticate `method target` (raw path plus `?query`)
    from `edge_id` at `now`.
    """
    timestamp = str(int(now))
    return {
        EDGE_HEADER: edge_id,
        DATE_HEADER: timestamp,
        SIGNATURE_HEADER: _digest(secret, method, target, timestamp, edge_id),
    }


def verify(secret: Secret, method: str, target: str, headers: Mapping[str, str], now: float) -> str:
    """Return the signing edge's id, or raise AccessDenied: `unsigned`, `stale`, `bad_signature`."""
    edge_id = headers.get(EDGE_HEADER, "")
    timestamp = headers.get(DATE_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not (edge_id and timestamp and signature):
        raise AccessDenied("unsigned", "this origin only answers requests signed by an edge")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise AccessDenied("malformed", f"{DATE_HEADER} is not an epoch time")
    if abs(now - int(timestamp)) > SKEW_SECONDS:
        raise AccessDenied(
            "stale", f"the request was signed more than {SKEW_SECONDS}s away from now"
        )
    expected = _digest(secret, method, target, timestamp, edge_id)
    if not hmac.compare_digest(expected.encode(), signature.encode("latin-1", "replace")):
        raise AccessDenied("bad_signature", "the origin request signature does not match")
    return edge_id
