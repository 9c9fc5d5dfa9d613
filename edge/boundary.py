"""The access boundary: no URL reaches an object without the credentials its own behavior needs.

A viewer request is authorized against the behavior its path matched. On its way the path can
change: a viewer-request function rewrites the URI the cache is looked up under, an origin-request
function rewrites the path sent to the origin (the demo's `strip-prefix`), a custom error page is
fetched under its own path. Each such path is classified again here, and when it belongs to a
behavior whose access is stricter than the accepting one's (trusted key groups the viewer did not
prove), the request is refused with a 403 `cross_behavior`. The check sits on the lookup path and
in the origin client's `open`, which every origin request passes, so no configuration of
functions, patterns or error pages can open a way around it.

Paths that are not in normal form (dot segments, empty segments, backslashes, control characters,
an encoded `/` or `\\`) are refused with a 400 before classification: origins, file systems and
object stores may resolve them differently from the behavior patterns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from edge.classify import Classified, Route
from streaming.config import Behavior, EdgeFunctionRef
from streaming.errors import AccessDenied, InvalidPath

# An encoded slash, backslash or NUL in the raw target: the decoded path cannot tell them apart.
_ENCODED_SEPARATOR = re.compile(rb"%(2f|5c|00)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
# Built-in functions that never change the path (edge.functions.builtin).
_KEEPERS = frozenset({"security-headers", "country-redirect"})


def check_path(path: str, raw_path: bytes | None = None) -> None:
    """Refuse a viewer path that is not in normal form (400 `invalid_path` with the reason)."""
    if not path.startswith("/"):
        raise InvalidPath("the request path must start with /")
    if _CONTROL.search(path):
        raise InvalidPath("the request path contains a backslash or a control character")
    if raw_path is not None and _ENCODED_SEPARATOR.search(raw_path):
        raise InvalidPath("the request path contains an encoded /, \\ or NUL")
    segments = path.split("/")[1:]
    if any(s in (".", "..") for s in segments):
        raise InvalidPath("the request path contains a . or .. segment")
    if any(s == "" for s in segments[:-1]):
        raise InvalidPath("the request path contains an empty segment (//)")


class OriginRequestLike(Protocol):
    """What the guard reads of an origin request (edge.origins.OriginRequest)."""

    @property
    def accepted(self) -> Route | None: ...
    @property
    def path(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a behavior asks of a viewer: credentials from one of its trusted key groups."""

    key_groups: frozenset[str]
    jwt: bool

    @classmethod
    def of(cls, behavior: Behavior) -> Requirement:
        return cls(frozenset(behavior.trusted_key_groups), behavior.jwt_bearer)

    def covers(self, other: Requirement) -> bool:
        """Whether every viewer that passed `self` would also pass `other`."""
        if not other.key_groups:
            return True
        return (
            bool(self.key_groups)
            and self.key_groups <= other.key_groups
            and (other.jwt or not self.jwt)
        )

    def describe(self) -> str:
        if not self.key_groups:
            return "no credentials"
        groups = ", ".join(sorted(self.key_groups))
        return f"credentials of key group(s) {groups}" + (" or a JWT" if self.jwt else "")


class Boundary:
    """Checks that a path reached from an accepted behavior needs no stricter credentials."""

    def __init__(self, table: tuple[Route, ...], classify: Callable[[str], Classified]) -> None:
        self._required = {r.index: Requirement.of(r.behavior) for r in table}
        self.classify = classify

    def check(self, accepted: Route, path: str) -> None:
        """Raise AccessDenied when `path` belongs to a behavior `accepted` does not satisfy
        (InvalidPath when a rewrite produced a path that is not in normal form)."""
        check_path(path)
        owner = self.classify(path).route
        if owner.index == accepted.index:
            return
        if not self._required[accepted.index].covers(self._required[owner.index]):
            raise AccessDenied(
                "cross_behavior",
                f"{path[:200]} belongs to behavior {owner.behavior.path_pattern!r}, which needs "
                f"{self._required[owner.index].describe()}; this request was accepted by "
                f"{accepted.behavior.path_pattern!r}",
            )

    def check_request(self, request: OriginRequestLike) -> None:
        """The origin client's guard: every origin request names the behavior that accepted it."""
        if request.accepted is None:
            raise AccessDenied("cross_behavior", "an origin request without an accepting behavior")
        self.check(request.accepted, request.path)


def reachable(behaviors: Iterable[Behavior]) -> list[str]:
    """Load-time report: behaviors whose rewritten paths can fall under stricter behaviors.

    The request-time check refuses such requests; this names the configurations that rely on it,
    so an operator learns at start that part of a behavior's URL space answers 403.
    """
    table = tuple(behaviors)
    found: list[str] = []
    for behavior in table:
        mine = Requirement.of(behavior)
        for function in behavior.functions:
            if function.event not in ("viewer-request", "origin-request"):
                continue
            image = _image(behavior.path_pattern, function)
            if image is None:
                continue
            for other in _owners(image, table):
                if other is not behavior and not mine.covers(Requirement.of(other)):
                    found.append(
                        f"behavior {behavior.path_pattern!r}: its {function.event} function "
                        f"{function.name!r} can rewrite paths into {other.path_pattern!r}, which "
                        f"needs {Requirement.of(other).describe()}; the edge refuses those "
                        "requests with 403 cross_behavior"
                    )
    return found


def _image(pattern: str, function: EdgeFunctionRef) -> str | None:
    """The pattern of paths a function can produce from `pattern`; None if it keeps paths."""
    if function.name in _KEEPERS:
        return None
    if function.name == "strip-prefix":
        prefix = str(function.options.get("prefix", "")).rstrip("/")
        if prefix and "*" not in prefix and "?" not in prefix and pattern.startswith(prefix + "/"):
            return pattern[len(prefix) :]
    if function.name == "index-rewrite":
        return pattern + "*"  # appends a file name
    return "*"  # a custom function may produce any path


def _owners(image: str, table: tuple[Behavior, ...]) -> list[Behavior]:
    """Behaviors that own some path of `image` under first-match order."""
    owners: list[Behavior] = []
    for behavior in table:
        if _overlap(image, behavior.path_pattern):
            owners.append(behavior)
            if _contains(behavior.path_pattern, image):
                break  # every path of the image is owned by this or an earlier behavior
    return owners


def _contains(outer: str, inner: str) -> bool:
    """A sufficient test that every path matching `inner` matches `outer`."""
    if outer in ("*", inner):
        return True
    head = outer[:-1]
    return outer.endswith("*") and "*" not in head and "?" not in head and inner.startswith(head)


def _overlap(a: str, b: str) -> bool:
    """Whether some path matches both CloudFront patterns (`*` any run, `?` one character)."""
    a, b = a.lstrip("/"), b.lstrip("/")

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        # A `*` matches nothing more, or swallows one more character of the other pattern.
        if i < len(a) and a[i] == "*" and (meet(i + 1, j) or (j < len(b) and meet(i, j + 1))):
            return True
        if j < len(b) and b[j] == "*" and (meet(i, j + 1) or (i < len(a) and meet(i + 1, j))):
            return True
        if i < len(a) and j < len(b) and "*" not in (a[i], b[j]):
            return (a[i] == b[j] or "?" in (a[i], b[j])) and meet(i + 1, j + 1)
        return False

    return meet(0, 0)
