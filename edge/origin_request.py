"""What the edge asks of an origin: the behavior's origin request policy applied to a viewer.

Two shapes: a cache fill (GET of the whole object, identity encoding, only the headers and
query strings the behavior forwards or keys on) and a pass-through (the viewer's method, query
and body, with the forwarded headers). Identity (cookies, Authorization) reaches an origin only
on pass-through behaviors that forward it.
"""

from __future__ import annotations

from edge import ll_hls
from edge.cache_key import forwarded_query
from edge.classify import Classified
from edge.origins import OriginRequest
from edge.viewer import Viewer

# Viewer headers every cached fetch forwards; identity never (the cache key has no room for it).
FORWARDED_HEADERS = frozenset({"user-agent"})
NOT_FORWARDED = frozenset({
    "host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
    "content-length", "transfer-encoding",
})  # fmt: skip
# With forward_headers = "all" a fill still keeps these to the edge: it answers conditionals
# and ranges itself from the whole object, and cookies would make one viewer's answer shared.
NOT_IN_FILLS = NOT_FORWARDED | {
    "cookie", "range", "if-range", "if-none-match", "if-modified-since", "if-match",
    "if-unmodified-since", "cache-control", "pragma", "accept-encoding",
}  # fmt: skip


def for_fill(viewer: Viewer, classified: Classified) -> OriginRequest:
    """The request that fills the cache for this viewer's object (HEAD fills the whole too)."""
    behavior = classified.behavior
    wanted = {h.lower() for h in behavior.forward_headers}
    if "*" in wanted:
        headers = _end_to_end(viewer.headers, NOT_IN_FILLS)
    else:
        wanted |= FORWARDED_HEADERS | {h.lower() for h in behavior.cache_key.headers}
        headers = {k: v for k, v in viewer.headers.items() if k in wanted}
    headers["accept-encoding"] = "identity"  # the edge compresses; the cache keeps identity
    query = forwarded_query(viewer.query, behavior.cache_key, ll_hls.is_playlist(classified.kind))
    return _request(viewer, classified, "GET", query, headers)


def for_relay(viewer: Viewer, classified: Classified) -> OriginRequest:
    """The request that passes this viewer's request through (never cached)."""
    wanted = {h.lower() for h in classified.behavior.forward_headers}
    if "*" in wanted:
        headers = _end_to_end(viewer.headers, NOT_FORWARDED)
    else:
        wanted |= FORWARDED_HEADERS | {h.lower() for h in classified.behavior.cache_key.headers}
        headers = {k: v for k, v in viewer.headers.items() if k in wanted}
    return _request(viewer, classified, viewer.method, viewer.query, headers)


def _end_to_end(headers: dict[str, str], excluded: frozenset[str]) -> dict[str, str]:
    """The viewer's headers but `excluded` and those its Connection header names."""
    listed = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    return {k: v for k, v in headers.items() if k not in excluded and k not in listed}


def _request(
    viewer: Viewer, classified: Classified, method: str, query: str, headers: dict[str, str]
) -> OriginRequest:
    forwarded_for = viewer.headers.get("x-forwarded-for")
    ip = viewer.client_ip
    headers["x-forwarded-for"] = f"{forwarded_for}, {ip}" if forwarded_for else ip
    headers["x-edge-request-id"] = viewer.request_id
    behavior = classified.behavior
    held = ll_hls.held(classified.kind, viewer.path, query)
    return OriginRequest(
        behavior.target, method, viewer.path, query, headers, accepted=classified.route, held=held
    )
