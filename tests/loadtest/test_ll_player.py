"""The emulated LL-HLS viewer against a scripted channel: it blocks on the next part, fetches the
hinted part and every listed part once, and measures each part's age on arrival."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import m3u8
from rich.console import Console
from rich.table import Table

from loadtest import report
from loadtest.client import Fetch
from loadtest.ll_player import (
    BLOCKING_KIND,
    PART_KIND,
    LowLatencyPlayer,
    Part,
    blocking_url,
    edge_of,
    is_low_latency,
)

URL = "http://edge/live/demo/180p/index.m3u8"
PARTS = 4  # per 2 s segment
EPOCH = 1_700_000_000.0  # segment 0 started here (2023)


def playlist(msn: int, parts: int) -> bytes:
    """Segments msn-2..msn-1 whole, then `parts` parts of segment msn, and the next as hint."""
    lines = [
        "#EXTM3U", "#EXT-X-VERSION:9", "#EXT-X-TARGETDURATION:2",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5",
        "#EXT-X-PART-INF:PART-TARGET=0.5", f"#EXT-X-MEDIA-SEQUENCE:{msn - 2}",
        '#EXT-X-MAP:URI="init.mp4"',
    ]  # fmt: skip
    for n in range(msn - 2, msn + 1):
        stamp = datetime.fromtimestamp(EPOCH + 2 * n, UTC).isoformat(timespec="milliseconds")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp.replace('+00:00', 'Z')}")
        count = PARTS if n < msn else parts
        lines += [f'#EXT-X-PART:DURATION=0.5,URI="{n}.{p}.m4s"' for p in range(count)]
        if n < msn:
            lines += ["#EXTINF:2.0,", f"{n}.m4s"]
    hint = (msn, parts) if parts < PARTS else (msn + 1, 0)
    lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{hint[0]}.{hint[1]}.m4s"')
    return ("\n".join(lines) + "\n").encode()


def test_a_playlist_says_its_parts_their_start_and_the_part_to_block_on_next() -> None:
    media = m3u8.loads(playlist(10, 2).decode(), uri=URL)
    assert is_low_latency(media)
    edge = edge_of(media, URL)
    assert edge.parts[-1] == Part(
        "http://edge/live/demo/180p/10.1.m4s", 10, 1, 0.5, EPOCH + 20 + 0.5
    )
    assert (edge.next_msn, edge.next_part) == (10, 2)
    assert edge.hint == "http://edge/live/demo/180p/10.2.m4s"
    whole = edge_of(m3u8.loads(playlist(10, 0).decode(), uri=URL), URL)
    assert (whole.next_msn, whole.next_part) == (10, 0)
    assert blocking_url(URL + "?x=1", 10, 2) == URL + "?_HLS_msn=10&_HLS_part=2"
    classic = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n1.ts\n"
    assert not is_low_latency(m3u8.loads(classic, uri=URL))


def test_the_viewer_blocks_on_each_next_part_and_fetches_every_part_once() -> None:
    """Ten blocking reloads in order (10.2, 10.3, 11.0, ...), each part fetched once, the hinted
    one before any playlist lists it, and one latency per part."""
    asked: list[tuple[str, str]] = []
    seen: list[tuple[str, float]] = []

    async def get(url: str, keep_body: bool, kind: str) -> Fetch | None:
        asked.append((kind, url))
        query = parse_qs(urlsplit(url).query)
        body = b""
        if kind == BLOCKING_KIND:
            msn, part = int(query["_HLS_msn"][0]), int(query["_HLS_part"][0])
            # Its last part completes a segment: then it is listed whole.
            body = playlist(msn, part + 1) if part + 1 < PARTS else playlist(msn + 1, 0)
        await asyncio.sleep(0)
        return Fetch("200", time.monotonic(), 0.0, 0.0, len(body), body, "Miss")

    def budget_open() -> bool:
        return sum(1 for kind, _ in asked if kind == BLOCKING_KIND) < 10

    def on_part(part: Part, arrived: float) -> None:
        assert part.start is not None
        seen.append((part.url.rsplit("/", 1)[-1], arrived - part.start))

    player = LowLatencyPlayer(get, budget_open, on_part)
    asyncio.run(player.play(URL, m3u8.loads(playlist(10, 2).decode(), uri=URL)))
    reloads = [parse_qs(urlsplit(u).query) for k, u in asked if k == BLOCKING_KIND]
    pairs = [(int(q["_HLS_msn"][0]), int(q["_HLS_part"][0])) for q in reloads]
    assert pairs[:4] == [(10, 2), (10, 3), (11, 0), (11, 1)]
    assert len(pairs) == 10
    parts = [u.rsplit("/", 1)[-1] for k, u in asked if k == PART_KIND]
    assert len(parts) == len(set(parts))  # none twice
    assert parts[:3] == ["9.3.m4s", "10.0.m4s", "10.1.m4s"]  # the newest three parts first
    assert "10.2.m4s" in parts[:5]  # the hint, asked for with the first blocking reload
    names = [name for name, _ in seen]
    assert len(names) == len(set(names)) and "10.2.m4s" in names
    assert all(age > 0 for _, age in seen)  # EPOCH is in the past


def test_the_report_counts_origin_requests_per_part_per_edge_and_shows_the_latency() -> None:
    """Misses on part paths over parts × edges; playlists' misses do not count; no parts: None."""
    snap = {
        "objects": ["/live/ll/90p/5.0.m4s", "/live/ll/90p/5.1.m4s", "/live/ll/90p/index.m3u8"],
        "fills": {
            "http://a /live/ll/90p/5.0.m4s": 1, "http://a /live/ll/90p/5.1.m4s": 1,
            "http://b /live/ll/90p/5.0.m4s": 1, "http://b /live/ll/90p/5.1.m4s": 2,
            "http://a /live/ll/90p/index.m3u8": 7,
        },
        "live_latency": [0.4, 0.6, 0.5],
    }  # fmt: skip
    ll = report.low_latency(snap, edges=2)
    assert ll is not None
    assert ll["parts"] == 2
    assert ll["origin_requests_per_part_per_edge"] == 1.25  # 5 misses / (2 parts x 2 edges)
    assert ll["max_origin_requests_for_one_part"] == 2
    assert ll["live_latency_ms"]["p50"] == 500.0
    assert report.low_latency({"objects": ["/hls/v/1.ts"], "fills": {}}, edges=1) is None
    console = Console(record=True, width=200)
    row = {"low_latency": ll}
    table = Table()
    report.render_low_latency(row, table)
    console.print(table)
    assert "1.25 over 2 parts (max 2)" in console.export_text()
