"""The portal's pages: one shared layout (head, navigation) around each page's own body."""

from __future__ import annotations

import pytest

from cli.portal import hls_dist
from portal.app import create_app
from portal.pages import PAGES, WEB
from tests.factories import distribution
from tests.portal.conftest import portal_client

pytestmark = pytest.mark.anyio

NAV = '<nav><a href="/">Library</a><a href="/player">Player</a><a href="/upload">Upload</a></nav>'


@pytest.mark.parametrize("route", list(PAGES))
async def test_every_page_is_the_one_layout_with_its_own_title_and_body(route: str) -> None:
    """Each page carries the layout's single head and navigation, its title and its own body,
    with nothing left of the template; the page file itself holds no head of its own."""
    name, title = PAGES[route]
    body = (WEB / name).read_text()
    async with portal_client(create_app(distribution(), hls_dist())) as client:
        page = await client.get(route)
    html = page.text
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    assert html.startswith("<!doctype html>") and html.count("<head>") == 1
    assert f"<title>{title} · streaming-cdn</title>" in html and NAV in html
    assert '<link rel="stylesheet" href="/static/portal.css">' in html
    assert body in html and "$" not in html
    assert "<head>" not in body and "<nav>" not in body


async def test_a_page_names_its_content_by_etag() -> None:
    """Pages differ, so do their ETags; the same page keeps its ETag."""
    async with portal_client(create_app(distribution(), hls_dist())) as client:
        tags = [(await client.get(route)).headers["etag"] for route in (*PAGES, "/")]
    assert len(set(tags)) == len(PAGES) and tags[0] == tags[-1]
