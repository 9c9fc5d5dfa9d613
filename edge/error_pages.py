"""Custom error responses: a configured page, fetched through the cache like any object, in
place of an error status (CloudFront's custom error pages), with its own status if configured.

The page is served to the viewer whose request failed, so it must need no stricter credentials
than the behavior that accepted that request (edge.boundary).
"""

from __future__ import annotations

import logging

from edge.boundary import Boundary
from edge.classify import Classified
from edge.deliver import discard
from edge.functions import BehaviorFunctions
from edge.functions.hooks import Hooks, Where
from edge.lookup import Lookup
from edge.metrics import EdgeMetrics
from edge.types import Reply, Result
from edge.viewer import Viewer
from streaming.config import CustomErrorResponse
from streaming.errors import StreamingError

log = logging.getLogger("edge.error_pages")

NO_FUNCTIONS = BehaviorFunctions()
PAGE_HEADERS = ("accept-encoding", "user-agent")  # what the page request keeps of the viewer's


class ErrorPages:
    """The distribution's error pages by status."""

    def __init__(
        self, pages: tuple[CustomErrorResponse, ...], boundary: Boundary, lookup: Lookup,
        where: Where, metrics: EdgeMetrics,
    ) -> None:  # fmt: skip
        self.pages: dict[int, CustomErrorResponse] = {
            c.error_code: c for c in pages if c.response_page_path
        }
        self.boundary, self.lookup, self.where, self.metrics = boundary, lookup, where, metrics

    def applies(self, reply: Reply) -> bool:
        return reply.status in self.pages and reply.result is not Result.FUNCTION

    async def replace(self, viewer: Viewer, accepted: Classified, reply: Reply) -> Reply:
        """The page's reply with the error's status (or the configured one); the error's own
        reply when the page is refused, missing or broken."""
        page = self.pages[reply.status]
        path = page.response_page_path
        try:
            self.boundary.check(accepted.route, path)
        except StreamingError as exc:
            log.warning("custom error page %s refused: %s", path, exc.detail)
            return reply
        inner = viewer.for_page(path, PAGE_HEADERS)
        classified = self.boundary.classify(path)
        try:
            hooks = Hooks(NO_FUNCTIONS, self.where, inner, classified.behavior.path_pattern,
                          self.metrics)  # fmt: skip
            page_reply = await self.lookup.serve(inner, classified, hooks)
        except StreamingError as exc:
            log.warning("custom error page %s unavailable: %s", path, exc.detail)
            return reply
        if page_reply.status != 200:
            await discard(page_reply)
            return reply
        await discard(reply)
        page_reply.status = page.response_code or reply.status
        page_reply.result, page_reply.detail = reply.result, reply.detail
        return page_reply
