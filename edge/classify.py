"""Classify a viewer request: which cache behavior applies and what HLS kind the object is."""

from __future__ import annotations

import re
from dataclasses import dataclass

from streaming.config import Behavior
from streaming.hls import Kind, kind_of


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """CloudFront path pattern → regex: `*` any run (crossing `/`), `?` one char, case-sensitive."""
    body = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern.lstrip("/")
    )
    return re.compile(f"/?{body}", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Route:
    """A behavior with its compiled pattern; built once at start, never per request."""

    index: int
    behavior: Behavior
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Classified:
    route: Route
    kind: Kind

    @property
    def behavior(self) -> Behavior:
        return self.route.behavior


def routes(behaviors: tuple[Behavior, ...]) -> tuple[Route, ...]:
    return tuple(Route(i, b, compile_pattern(b.path_pattern)) for i, b in enumerate(behaviors))


def classify(path: str, table: tuple[Route, ...]) -> Classified:
    """First behavior whose pattern matches the path wins; the default `*` always matches."""
    for route in table:
        if route.pattern.fullmatch(path):
            return Classified(route, kind_of(path))
    raise AssertionError("the default behavior '*' matches every path")
