"""RFC 9211 `Cache-Status`: what this POP did with a request, on every response.

    Cache-Status: iad.streaming-cdn; hit; ttl=3541
    Cache-Status: iad.streaming-cdn; fwd=uri-miss; fwd-status=200; stored
    Cache-Status: iad.streaming-cdn; fwd=uri-miss; collapsed
    Cache-Status: iad.streaming-cdn; fwd=stale; fwd-status=304
    Cache-Status: iad.streaming-cdn; hit; ttl=-2; detail=stale-while-revalidate
    Cache-Status: iad.streaming-cdn; fwd=bypass

An upstream cache's own Cache-Status members (a shield, another CDN) come first, ours last, as
the RFC orders them.
"""

from __future__ import annotations

from edge.types import Reply, Result

STALE_DETAILS = {"StaleWhileRevalidate": "stale-while-revalidate", "StaleIfError": "stale-if-error"}


def member(name: str, reply: Reply) -> str:
    """This cache's member of the Cache-Status list for `reply`."""
    parts = [name]
    if not reply.cached_path:
        parts.append("fwd=bypass")  # pass-through behaviors, methods, refusals, functions
    elif reply.detail in STALE_DETAILS:
        parts += ["hit", f"ttl={_seconds(reply.ttl_left)}", f"detail={STALE_DETAILS[reply.detail]}"]
    elif reply.result is Result.HIT and not reply.collapsed:
        parts += ["hit", f"ttl={_seconds(reply.ttl_left)}"]
    elif reply.result is Result.REFRESH_HIT:
        parts += ["fwd=stale", f"ttl={_seconds(reply.ttl_left)}"]
    else:
        parts.append("fwd=uri-miss")
        if reply.collapsed:
            parts.append("collapsed")
    if reply.fwd_status is not None:
        parts.insert(2, f"fwd-status={reply.fwd_status}")
    if reply.stored:
        parts.append("stored")
    return "; ".join(parts)


def _seconds(value: float | None) -> int:
    return int(value) if value is not None else 0


def header(upstream: str | None, name: str, reply: Reply) -> str:
    """The Cache-Status value to send: the upstream list, then ours."""
    ours = member(name, reply)
    return f"{upstream}, {ours}" if upstream else ours
