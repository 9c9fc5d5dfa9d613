"""Regenerate the README's player screenshot: `python -m tests.browser.screenshot docs/player.png`.

Starts the same private-content topology as the browser tests, publishes a generated 720p clip,
signs in, plays it through one POP (Misses), replays it (Hits) and captures the page.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from media.runner import ffmpeg_binary
from media.samples import make_clip
from tests.browser.chromium import launch, nss_home
from tests.browser.stack import portal_stack
from tests.helpers import upload, wait_state
from tests.tls import make_ca


def capture(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        clip = tmp / "demo.mp4"
        asyncio.run(make_clip(ffmpeg_binary(), clip, seconds=30, width=1280, height=720))
        (tmp / "pki").mkdir()
        make_ca(tmp / "pki")
        with portal_stack(tmp, tmp / "pki") as stack:
            topology = stack.topology
            video = upload(topology.origin_url("us-east"), clip)
            wait_state(topology.origin_url("us-east"), video, timeout=240)
            with sync_playwright() as playwright:
                browser = launch(playwright, nss_home(tmp / "pki" / "ca.pem", tmp / "home"))
                page = browser.new_page(viewport={"width": 1360, "height": 800})
                page.goto(stack.player(f"video={video}&pop=iad"))
                page.locator("#signin-button").click()
                time.sleep(9)
                page.locator("#replay").click()  # the same objects again: Hits from the edge
                time.sleep(7)
                page.screenshot(path=str(out))
                browser.close()


if __name__ == "__main__":
    capture(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/player.png"))
