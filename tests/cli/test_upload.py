"""`streaming upload`'s progress label: chunk counts and busy workers when packagers package."""

from __future__ import annotations

from cli.upload import describe


def test_the_label_counts_done_chunks_and_names_the_busy_workers() -> None:
    status: dict[str, object] = {
        "state": "packaging",
        "chunks": [
            {"index": 0, "state": "done", "progress": 1.0, "worker": "p1"},
            {"index": 1, "state": "running", "progress": 0.4, "worker": "p2"},
            {"index": 2, "state": "running", "progress": 0.1, "worker": "p1"},
            {"index": 3, "state": "queued", "progress": 0.0, "worker": ""},
        ],
    }
    assert describe("v1", status) == "packaging v1 · chunks 1/4 · encoding on p1, p2"


def test_a_video_packaged_in_one_piece_shows_its_state_only() -> None:
    assert describe("v1", {"state": "packaging", "progress": 0.5}) == "packaging v1"
