"""Send hostile requests to the running stack and book each answer in the ledger."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from tests.security.ledger import Finding, Ledger
from tests.security.rawhttp import Exchange, exchange, request
from tests.security.shapes import Shape
from tests.security.slow import Hold
from tests.security.stack import SecureStack, video_cookies

Component = Literal["edge", "origin"]
PARALLEL = 4  # connections in flight at once: enough to overlap latency on two cores


@dataclass
class Prober:
    stack: SecureStack
    ledger: Ledger
    holds: list[Hold] = field(default_factory=list)  # slow and idle connections in flight

    def host(self, component: Component) -> str:
        host, port = self.stack.address(component)
        return f"{host}:{port}"

    def send(
        self, component: Component, data: bytes, anonymous: bool = True, timeout: float = 5.0,
        quiet: float | None = None, requests: int = 1,
    ) -> tuple[Exchange, list[Finding]]:  # fmt: skip
        """Write `data` on a fresh connection; return the exchange and what was wrong with it
        (`requests` is how many requests `data` holds, for the tally)."""
        x = exchange(self.stack.address(component), data, timeout, quiet)
        return x, self.ledger.check(component, x, anonymous, requests)

    def legitimate(self, component: Component, data: bytes) -> Exchange:
        """A control request the suite expects to be served: sent, never booked as hostile."""
        return exchange(self.stack.address(component), data)

    def shape(
        self, component: Component, shape: Shape, method: str = "GET",
        headers: list[tuple[str, str]] | None = None,
    ) -> tuple[Exchange, list[Finding]]:  # fmt: skip
        extra = list(headers or [])
        if shape.foreign:
            extra.append(("Cookie", video_cookies(self.stack.other)))
        data = request(shape.target, self.host(component), method, extra)
        return self.send(component, data, anonymous=not shape.foreign)

    def shapes(self, component: Component, shapes: list[Shape]) -> list[Finding]:
        """Send every shape (a few at a time); all problems found, in order."""
        with ThreadPoolExecutor(PARALLEL) as pool:
            results = pool.map(lambda s: self.shape(component, s)[1], shapes)
            return [problem for found in results for problem in found]
