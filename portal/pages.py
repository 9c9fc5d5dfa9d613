"""The portal's HTML pages: one shared layout (head, navigation) around each page's own body.

`web/layout.html` holds what every page shares; `web/<page>.html` holds only the page's `<main>`
and its ES module. Each page is put together once, when the app is built, with `string.Template`
(no template engine: the pages are static, the browser modules do the rest).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from string import Template

from starlette.responses import HTMLResponse

WEB = Path(__file__).parent / "web"
# Route -> (the page's body file, its title).
PAGES = {
    "/": ("library.html", "Library"),
    "/player": ("player.html", "Player"),
    "/upload": ("upload.html", "Upload"),
    "/dash": ("dash.html", "DASH"),  # Shaka Player on an fMP4 stream's manifest.mpd
}


def render(name: str, title: str) -> str:
    """One whole page: the layout with the page's title and body filled in."""
    layout = Template((WEB / "layout.html").read_text())
    return layout.substitute(title=title, body=(WEB / name).read_text())


def endpoint(html: str) -> Callable[[], Awaitable[HTMLResponse]]:
    """A route answering one rendered page; browsers revalidate it on every visit."""
    etag = f'"{hashlib.sha256(html.encode()).hexdigest()[:32]}"'

    async def page() -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache", "ETag": etag})

    return page
