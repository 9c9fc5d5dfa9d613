"""The edge functions that ship with the project; see docs/edge-functions.md to add one."""

from __future__ import annotations

from edge.functions import Context, FunctionRequest, FunctionResponse, Hook

DEFAULT_SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains; preload",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-xss-protection": "1; mode=block",
}


def security_headers(
    ctx: Context, request: FunctionRequest, response: FunctionResponse
) -> FunctionResponse:
    """viewer-response: add HSTS, nosniff, frame and referrer policies (options override values;
    an empty string removes one), plus `content_security_policy` when configured."""
    headers = dict(DEFAULT_SECURITY_HEADERS)
    for name, value in ctx.options.items():
        header = name.replace("_", "-").lower()
        if value == "":
            headers.pop(header, None)
        else:
            headers[header] = str(value)
    response.headers.update(headers)
    return response


def index_rewrite(ctx: Context, request: FunctionRequest) -> FunctionRequest:
    """viewer-request: `/docs/` → `/docs/index.html`, `/docs` → `/docs/index.html`
    (a last segment without a dot is a directory). Option `index` names the file."""
    index = str(ctx.options.get("index", "index.html"))
    if request.uri.endswith("/"):
        request.uri += index
    elif "." not in request.uri.rsplit("/", 1)[-1]:
        request.uri += "/" + index
    return request


def country_redirect(ctx: Context, request: FunctionRequest) -> FunctionRequest | FunctionResponse:
    """viewer-request: send viewers from listed countries elsewhere.

    Options: `to` maps a country code to a URL prefix (the request URI and query are appended),
    `status` is the redirect status (302). Viewers whose country is unknown or unlisted pass.
    """
    targets = ctx.options.get("to", {})
    if not isinstance(targets, dict) or ctx.viewer_country is None:
        return request
    prefix = targets.get(ctx.viewer_country)
    if prefix is None:
        return request
    location = (
        prefix.rstrip("/")
        + request.uri
        + (f"?{request.querystring}" if request.querystring else "")
    )
    status = int(ctx.options.get("status", 302))  # type: ignore[arg-type]
    return FunctionResponse(status, {"location": location, "cache-control": "private, max-age=0"})


def strip_prefix(ctx: Context, request: FunctionRequest) -> FunctionRequest:
    """origin-request: remove option `prefix` (e.g. `/api`) from the URI sent to the origin."""
    prefix = str(ctx.options.get("prefix", "")).rstrip("/")
    if prefix and (request.uri == prefix or request.uri.startswith(prefix + "/")):
        request.uri = request.uri[len(prefix) :] or "/"
    return request


BUILTINS: dict[str, tuple[Hook, frozenset[str]]] = {
    "security-headers": (security_headers, frozenset({"viewer-response", "origin-response"})),
    "index-rewrite": (index_rewrite, frozenset({"viewer-request", "origin-request"})),
    "country-redirect": (country_redirect, frozenset({"viewer-request"})),
    "strip-prefix": (strip_prefix, frozenset({"origin-request"})),
}
