"""One line saying why a run failed: its errors grouped by status and the edge's reason.

A load test whose viewers are mostly refused measures nothing; the report's tables would show a
0 % hit ratio without saying why, so the run ends with the likely cause and a non-zero exit.
"""

from __future__ import annotations

from typing import Any

FAILING_SHARE = 0.03  # more than this share of failed requests fails the run

# (status, reason) → what an operator most likely has to change; "" matches any reason.
HINTS: dict[tuple[str, str], str] = {
    ("403", "missing"): (
        "the content is private; pass --sign-key/--key-pair-id or --demo with a signing key"
    ),
    ("403", "expired"): "the signed cookies have expired; sign new ones (--sign-key or --demo)",
    ("403", "unknown_key"): "the key pair id is not in the behavior's trusted key group",
    ("403", "bad_signature"): "the signature does not match: --sign-key is not that key pair's",
    ("403", "resource_not_covered"): "the signed policy does not cover these URLs",
    ("403", ""): "the edge refuses these viewers",
    ("404", ""): "the playlist is not on the edge: check the video id in the URL",
    ("connect", ""): "no edge answers at that address: is the demo (or the edge) running?",
    ("certificate", ""): (
        "the edge's certificate is not trusted: pass --cacert (the demo's CA is "
        ".demo/tls/ca.pem; --demo reads it from the state file)"
    ),
    ("timeout", ""): "requests time out: the edge is overloaded or --timeout is too short",
}


def _hint(key: str) -> str:
    status, _, reason = key.partition(" ")
    for candidate in ((status, reason), (status, "")):
        if candidate in HINTS:
            return HINTS[candidate]
    if status.startswith("5"):
        return "the edge or its origins fail: see their logs"
    return "see the status counts above"


def diagnose(report: dict[str, Any], share: float = FAILING_SHARE) -> str | None:
    """None when the run is healthy, else one line: how many failed, mostly how, and why."""
    requests, errors = report["requests"], report["errors"]
    if requests == 0:
        return "no request completed: is the demo (or the edge) running?"
    if errors <= share * requests:
        return None
    failures: dict[str, int] = report.get("failures") or {}
    if not failures:
        return f"{errors} of {requests} requests failed"
    top, count = max(failures.items(), key=lambda kv: kv[1])
    status, _, reason = top.partition(" ")
    how = f"{status} `{reason}`" if reason else status
    scope = "all" if count == requests else f"{count} of {requests}"
    return f"{scope} {how}: {_hint(top)}"
