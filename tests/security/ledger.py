"""Leak detection by content, and the suite's tally of requests, leaks and 5xx answers.

A refusal is not proved by its status: a 403 page could carry a segment, a 200 poster could be
a playlist. Each answer is checked against the private objects' real bytes (any run of 47 bytes
of them that occurs in no object a hostile viewer may legitimately read), the target's original
file name and its job record, and, for viewers without any credentials, anything that looks
like HLS content.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.security.rawhttp import Exchange, RawResponse

WINDOW = 32
STRIDE = 16  # a leaked run of WINDOW + STRIDE - 1 bytes always holds one whole indexed window


@dataclass(frozen=True)
class Fingerprints:
    """Windows of the private bodies (every STRIDE bytes) that no readable body contains, and the
    bodies too small, or too like a readable one, to have such windows (matched whole)."""

    windows: dict[bytes, str]  # window -> the private object's path
    whole: dict[str, bytes]
    readable: frozenset[bytes]  # whole bodies a hostile viewer may read (posters): no scan

    def found_in(self, body: bytes) -> list[str]:
        """The private objects any part of which `body` carries (runs of 47 bytes or more)."""
        if body in self.readable:
            return []
        found = {name for name, needle in self.whole.items() if needle in body}
        windows = self.windows
        for i in range(len(body) - WINDOW + 1):
            name = windows.get(body[i : i + WINDOW])
            if name is not None:
                found.add(name)
        return sorted(found)


def fingerprints(private: dict[str, bytes], readable: list[bytes]) -> Fingerprints:
    """Index the private bodies, leaving out every window a legitimately readable body holds."""
    seen = {r[i : i + WINDOW] for r in readable for i in range(len(r) - WINDOW + 1)}
    windows: dict[bytes, str] = {}
    whole: dict[str, bytes] = {}
    for name, body in private.items():
        own = [body[i : i + WINDOW] for i in range(0, len(body) - WINDOW + 1, STRIDE)]
        unique = [w for w in own if w not in seen]
        if len(body) < WINDOW + STRIDE or not unique:
            whole[name] = body
        windows.update((w, name) for w in unique)
    return Fingerprints(windows, whole, frozenset(readable))


def looks_like_hls(body: bytes) -> str | None:
    """A playlist, a thumbnails index or an MPEG-TS segment, whoever's it is."""
    if body.startswith(b"#EXTM3U"):
        return "an HLS playlist"
    if body.startswith(b"WEBVTT"):
        return "a WebVTT index"
    if len(body) >= 376 and body[0] == 0x47 and body[188] == 0x47:
        return "an MPEG-TS segment"
    return None


@dataclass
class Finding:
    kind: str  # "leak" or "5xx"
    component: str
    request: str
    status: int | None
    what: str

    def line(self) -> str:
        return f"{self.kind} on {self.component}: {self.request} -> {self.status}: {self.what}"


@dataclass
class Ledger:
    """Every hostile request the suite sent, and what came back wrong."""

    prints: Fingerprints
    markers: dict[str, bytes]  # name -> bytes that must never appear in any answer
    target_id: str
    requests: int = 0
    connections: int = 0
    findings: list[Finding] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)  # measurements for the summary
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def leaks_in(self, response: RawResponse, anonymous: bool) -> list[str]:
        """Which private objects (or metadata) this answer carries."""
        body = response.body
        found = self.prints.found_in(body)
        found += [name for name, marker in self.markers.items() if marker in body]
        ok = 200 <= response.status < 300
        if ok and self.target_id.encode() in body and b"{" in body[:1]:
            found.append("the target video's job record (JSON naming its id)")
        if ok and anonymous and (kind := looks_like_hls(body)) is not None:
            found.append(kind)
        return found

    def check(
        self, component: str, x: Exchange, anonymous: bool = True, requests: int = 1
    ) -> list[Finding]:
        """Count one exchange (of `requests` requests) and return what was wrong with it."""
        problems = [
            p for r in x.responses for p in self.judge(component, x.describe(), r, anonymous)
        ]
        with self._lock:
            self.requests += requests
            self.connections += 1
            self.findings += problems
        return problems

    def check_answer(
        self, component: str, sent: str, response: RawResponse | None, anonymous: bool = True
    ) -> list[Finding]:
        """Count one request answered on a shared connection (an HTTP/2 stream)."""
        problems = self.judge(component, sent, response, anonymous) if response else []
        with self._lock:
            self.requests += 1
            self.findings += problems
        return problems

    def judge(
        self, component: str, sent: str, response: RawResponse, anonymous: bool
    ) -> list[Finding]:
        problems = [
            Finding("leak", component, sent, response.status, what)
            for what in self.leaks_in(response, anonymous)
        ]
        if response.status >= 500:
            detail = response.body[:160].decode("latin-1")
            problems.append(Finding("5xx", component, sent, response.status, detail))
        return problems

    def add(self, kind: str, component: str, x: Exchange, what: str) -> Finding:
        """Book a problem a test judged itself (a status, a timing), not found by content."""
        finding = Finding(kind, component, x.describe(), x.status, what)
        with self._lock:
            self.findings.append(finding)
        return finding

    def note_case(self, group: str, name: str, x: Exchange) -> None:
        """Record how one named case was answered, for the summary."""
        statuses = ",".join(str(r.status) for r in x.responses) or "no answer"
        self.put(group, name, f"{statuses}, {'closed' if x.closed else 'kept open'}")

    def put(self, group: str, name: str, value: object) -> None:
        """Record one named measurement under `group`, for the summary."""
        with self._lock:
            cases = self.extra.setdefault(group, {})
            assert isinstance(cases, dict)
            cases[name] = value

    def count(self, requests: int = 0, connections: int = 0) -> None:
        """Tally traffic the suite sent without judging answers (idle sockets, holds)."""
        with self._lock:
            self.requests += requests
            self.connections += connections

    def note(self, key: str, value: object) -> None:
        with self._lock:
            self.extra[key] = value

    def summary(self) -> dict[str, object]:
        leaks = [f for f in self.findings if f.kind == "leak"]
        errors = [f for f in self.findings if f.kind == "5xx"]
        return {
            "requests": self.requests,
            "connections": self.connections,
            "private_leaks": len(leaks),
            "server_errors": len(errors),
            "findings": [f.line() for f in self.findings[:200]],
            **self.extra,
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.summary(), indent=2, sort_keys=True) + "\n")


def report(problems: list[Finding], limit: int = 25) -> str:
    """An assertion message listing the first `limit` problems, exactly as sent."""
    lines = [p.line() for p in problems[:limit]]
    more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} problem(s):\n" + "\n".join(lines) + more
