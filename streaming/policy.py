"""CloudFront access policies: the JSON statement, its strict parser and the resource wildcards.

`Policy.to_json` produces exactly what botocore's `CloudFrontSigner.build_policy` produces
(compact JSON; `Resource`, then `Condition` with `DateLessThan`, `IpAddress`, `DateGreaterThan`),
so a canned policy rebuilt by the edge is byte-identical to the one the viewer's signer signed.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from streaming.errors import AccessDenied

MAX_EPOCH = 10**11  # far beyond 2038 and any sane expiry, small enough to stay an int everywhere
CONDITIONS = frozenset({"DateLessThan", "DateGreaterThan", "IpAddress"})


def _malformed(why: str) -> AccessDenied:
    return AccessDenied("malformed", f"the policy is malformed: {why}")


def _epoch(condition: dict[str, object], name: str) -> int | None:
    if name not in condition:
        return None
    value = condition[name]
    inner = value.get("AWS:EpochTime") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(inner, bool) or not isinstance(inner, int) or not 0 <= inner <= MAX_EPOCH:
        raise _malformed(f"{name} needs one AWS:EpochTime in seconds")
    return inner


@dataclass(frozen=True, slots=True)
class Policy:
    """One statement: an optional resource pattern, an expiry and optional start and CIDR."""

    resource: str | None
    date_less_than: int
    date_greater_than: int | None = None
    source_ip: ipaddress.IPv4Network | None = None

    def to_json(self) -> bytes:
        """Compact JSON in botocore's key order: the exact bytes to sign."""
        condition: dict[str, object] = {"DateLessThan": {"AWS:EpochTime": self.date_less_than}}
        if self.source_ip is not None:
            condition["IpAddress"] = {"AWS:SourceIp": str(self.source_ip)}
        if self.date_greater_than is not None:
            condition["DateGreaterThan"] = {"AWS:EpochTime": self.date_greater_than}
        statement: dict[str, object] = {"Condition": condition}
        if self.resource is not None:
            statement = {"Resource": self.resource, **statement}
        return json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Policy:
        """Parse one statement (AWS's object form or botocore's one-element list), strictly."""
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            raise _malformed("not JSON") from None
        statement = doc.get("Statement") if isinstance(doc, dict) and len(doc) == 1 else None
        if isinstance(statement, list):
            statement = statement[0] if len(statement) == 1 else None
        if not isinstance(statement, dict) or not set(statement) <= {"Resource", "Condition"}:
            raise _malformed("need exactly one Statement with Resource and Condition")
        resource = statement.get("Resource")
        condition = statement.get("Condition")
        if resource is not None and not isinstance(resource, str):
            raise _malformed("Resource must be a string")
        if not isinstance(condition, dict) or not set(condition) <= CONDITIONS:
            raise _malformed(f"Condition may only hold {', '.join(sorted(CONDITIONS))}")
        expires = _epoch(condition, "DateLessThan")
        if expires is None:
            raise _malformed("DateLessThan is required")
        return cls(resource, expires, _epoch(condition, "DateGreaterThan"), _source_ip(condition))

    def allows_ip(self, client_ip: str) -> bool:
        """True without an IpAddress condition, else when the IPv4 client is inside the CIDR."""
        if self.source_ip is None:
            return True
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address in self.source_ip

    def covers(self, url: str) -> bool:
        """Whether `url` (scheme://host/path[?query]) is inside the Resource pattern."""
        if self.resource is None or self.resource in ("*", url):
            return True
        return resource_matches(self.resource, url)


def _source_ip(condition: dict[str, object]) -> ipaddress.IPv4Network | None:
    if "IpAddress" not in condition:
        return None
    value = condition["IpAddress"]
    cidr = value.get("AWS:SourceIp") if isinstance(value, dict) and len(value) == 1 else None
    if not isinstance(cidr, str) or len(cidr) > 18:
        raise _malformed("IpAddress needs one AWS:SourceIp IPv4 CIDR")
    try:
        return ipaddress.IPv4Network(cidr if "/" in cidr else cidr + "/32", strict=False)
    except ValueError:
        raise _malformed("AWS:SourceIp is not an IPv4 address or CIDR") from None


def canned_policy(url: str, expires: int) -> bytes:
    """The canned policy CloudFront rebuilds from the request URL and `Expires`."""
    return Policy(url, expires).to_json()


Sections = tuple[str, str, str, str | None]  # protocol, domain, path, query (None: no query)


def _url_sections(url: str) -> Sections:
    scheme, _, rest = url.partition("://")
    host, slash, tail = rest.partition("/")
    path, qmark, query = ("/" + tail if slash else "/").partition("?")
    return scheme.lower(), host.lower(), path, query if qmark and query else None


def _pattern_sections(resource: str, question_is_separator: bool) -> Sections:
    """Split a Resource into its sections, applying CloudFront's implied-wildcard exceptions."""
    protocol, sep, rest = resource.partition("://")
    if not sep:
        protocol, rest = "*", resource  # `*example.com` ≡ `*://*example.com/`
    protocol, (domain, slash, _tail) = protocol.lower(), rest.lower().partition("/")
    if not slash:
        return (
            (protocol, domain, "/*", "*") if domain.endswith("*") else (protocol, domain, "/", None)
        )
    path, query = "/" + rest.partition("/")[2], None
    if "\\?" in path:
        path, _, query = path.partition("\\?")
    elif question_is_separator and "?" in path:
        path, _, query = path.partition("?")
    if query is None and path.endswith("*"):
        query = "*"  # a trailing `*` in the path implies `\?*`
    return protocol, domain, path, query


@lru_cache(maxsize=1024)
def _compiled(resource: str) -> tuple[tuple[re.Pattern[str] | None, ...], ...]:
    def regex(section: str | None) -> re.Pattern[str] | None:
        if section is None:
            return None
        body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in section)
        return re.compile(body, re.DOTALL)

    # botocore does not escape the `?` before a query, so read it both as separator and wildcard.
    readings = {_pattern_sections(resource, True), _pattern_sections(resource, False)}
    return tuple(tuple(regex(s) for s in reading) for reading in readings)


def resource_matches(resource: str, url: str) -> bool:
    """Section-wise wildcard match: `*` any run, `?` one character, never across sections."""
    target = _url_sections(url)
    for reading in _compiled(resource):
        ok = all(
            (pattern.fullmatch(value or "") is not None) if pattern else not value
            for pattern, value in zip(reading, target, strict=True)
        )
        if ok:
            return True
    return False
