"""CORS decisions for browser players."""

from __future__ import annotations

from edge.cors import Cors
from streaming.config import Behavior, CorsSettings

PUBLIC = Behavior(path_pattern="*", target="o")
PRIVATE = Behavior(path_pattern="/hls/*", target="o", trusted_key_groups=("viewers",))


def test_disabled_without_allowed_origins() -> None:
    """No allowed origins: no CORS headers at all, nothing is a preflight."""
    cors = Cors(CorsSettings())
    assert not cors.enabled and cors.headers("http://a", PUBLIC) == {}
    assert not cors.is_preflight("OPTIONS", "http://a", "GET")


def test_allowed_origin_is_echoed_with_credentials_only_on_protected_paths() -> None:
    """Echo the origin (never `*`), credentials for key-group behaviors, nothing for others."""
    cors = Cors(CorsSettings(allowed_origins=("http://player.test",)))
    public = cors.headers("http://player.test", PUBLIC)
    private = cors.headers("http://player.test", PRIVATE)
    assert public["access-control-allow-origin"] == "http://player.test"
    assert "access-control-allow-credentials" not in public
    assert private["access-control-allow-credentials"] == "true"
    assert cors.headers("http://evil.test", PRIVATE) == {}
    assert cors.headers(None, PRIVATE) == {}


def test_wildcard_still_echoes_the_viewer_origin() -> None:
    """`*` in the config allows any origin but the answer names it (credentials need that)."""
    cors = Cors(CorsSettings(allowed_origins=("*",)))
    assert cors.headers("http://x.test", PRIVATE)["access-control-allow-origin"] == "http://x.test"


def test_preflight_lists_methods_headers_and_max_age() -> None:
    """Preflight answers carry the allowed methods and headers; refused origins get nothing."""
    cors = Cors(CorsSettings(allowed_origins=("http://player.test",), max_age=120))
    assert cors.is_preflight("OPTIONS", "http://player.test", "GET")
    headers = cors.preflight("http://player.test", PRIVATE)
    assert headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
    assert (
        "range" in headers["access-control-allow-headers"]
        and headers["access-control-max-age"] == "120"
    )
    assert cors.preflight("http://evil.test", PRIVATE) == {}
