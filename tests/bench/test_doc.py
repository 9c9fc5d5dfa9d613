"""docs/performance.md: the benchmark rewrites its own sections and keeps everyone else's."""

from __future__ import annotations

from bench.doc import replace_sections

EXISTING = (
    "# Performance\n\nintro\n\n## Packaging\nnumbers\n\n## Edge benchmark\nold\n\n"
    "## Edge hit-path profile\nprofile\n"
)


def test_own_sections_are_replaced_in_place_and_others_kept() -> None:
    """`## Edge benchmark` is replaced where it was; Packaging and the profile stay as written."""
    out = replace_sections(EXISTING, "## Edge benchmark\nnew\n")
    assert "old" not in out and "new" in out
    assert (
        out.index("## Packaging")
        < out.index("## Edge benchmark")
        < out.index("## Edge hit-path profile")
    )
    assert "numbers" in out and "profile" in out and out.startswith("# Performance\n\nintro")


def test_new_sections_are_appended_and_an_empty_file_gets_a_title() -> None:
    """A section not yet in the file goes at the end; a missing file starts with a title."""
    out = replace_sections(EXISTING, "## Edge soak\nflat\n")
    assert out.rstrip().endswith("## Edge soak\nflat") and "old" in out
    assert replace_sections("", "## Edge soak\nflat\n").startswith("# Performance\n")
