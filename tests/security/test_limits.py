"""Oversized request lines and header blocks get a 4xx that names the limit, never a 5xx.

The edge enforces CloudFront's limits (8 KiB URL → 414, 20 KiB of headers → 431) and its
server's (granian: about 400 KiB buffered, 100 fields); each answer is judged like any other
(no private byte, no 5xx) and must be 400, 414 or 431.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.security import known
from tests.security.ledger import report
from tests.security.probe import Component, Prober
from tests.security.rawhttp import request
from tests.security.stack import SecureStack

pytestmark = pytest.mark.e2e

KiB = 1024
Build = Callable[[str, str], bytes]  # (private path, host) -> raw request
MANY = [(f"X-{i}", "v") for i in range(1000)]

CASES: dict[str, Build] = {
    "URL 16 KiB": lambda p, h: request(p + "?" + "a" * 16 * KiB, h),
    "URL 64 KiB": lambda p, h: request(p + "?" + "a" * 64 * KiB, h),
    "URL 1 MiB": lambda p, h: request(p + "?" + "a" * 1024 * KiB, h),
    "path segment 16 KiB": lambda p, h: request(p.rsplit("/", 1)[0] + "/" + "a" * 16 * KiB, h),
    "1000 header fields": lambda p, h: request(p, h, headers=MANY),
    "one 64 KiB header": lambda p, h: request(p, h, headers=[("X-Big", "v" * 64 * KiB)]),
    "one 1 MiB header": lambda p, h: request(p, h, headers=[("X-Big", "v" * 1024 * KiB)]),
    "64 KiB cookie": lambda p, h: request(
        p, h, headers=[("Cookie", "CloudFront-Policy=" + "A" * 64 * KiB)]
    ),
    "64 KiB header name": lambda p, h: request(p, h, headers=[("X" * 64 * KiB, "v")]),
    "64 KiB method": lambda p, h: request(p, h, method="G" * 64 * KiB),
}  # fmt: skip
REFUSALS = {400, 414, 431}
# A method nobody allows is a 405 with the method named: also a clear refusal.
ALSO = {"64 KiB method": {405}}


@pytest.mark.parametrize(
    "case",
    [
        known.param((component, name), f"{component} {name}", f"{component}-{name}")
        for component in ("edge", "origin")
        for name in CASES
    ],
)
def test_an_oversized_request_is_refused_with_a_4xx_naming_the_limit(
    prober: Prober, stack: SecureStack, case: tuple[Component, str]
) -> None:
    component, name = case
    path = f"/hls/{stack.target}/master.m3u8"
    x, problems = prober.send(component, CASES[name](path, prober.host(component)), timeout=10)
    prober.ledger.note_case("oversized", f"{component} {name}", x)
    assert not problems, report(problems)
    assert x.status in REFUSALS | ALSO.get(name, set()), x.describe()
