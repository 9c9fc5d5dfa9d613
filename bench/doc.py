"""docs/performance.md: the benchmark rewrites only the `## Edge ...` sections it produces.

Other sections (another helper's "## Packaging", the hand-written hit-path profile) are kept.
"""

from __future__ import annotations

from pathlib import Path


def _headings(markdown: str) -> set[str]:
    return {line.strip() for line in markdown.splitlines() if line.startswith("## ")}


def replace_sections(existing: str, ours: str) -> str:
    """Put each `## ` section of `ours` in place of the same-titled one, or append it."""
    replaced = _headings(ours)
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in existing.splitlines():
        if line.startswith("## "):
            sections.append((line.strip(), []))
        sections[-1][1].append(line)
    new: dict[str, str] = {}
    current = ""
    for line in ours.strip().splitlines():
        if line.startswith("## "):
            current = line.strip()
            new[current] = ""
        new[current] = new.get(current, "") + line + "\n"
    out: list[str] = []
    for heading, lines in sections:
        if heading in replaced:
            out.append(new.pop(heading).rstrip() + "\n")
        elif heading or any(line.strip() for line in lines):
            out.append("\n".join(lines).rstrip() + "\n")
    if not out:
        out.append("# Performance\n")
    out += [text.rstrip() + "\n" for text in new.values()]
    return "\n".join(out)


def write(path: Path, ours: str) -> None:
    existing = path.read_text() if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_sections(existing, ours))
