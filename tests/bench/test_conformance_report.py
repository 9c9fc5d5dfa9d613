"""docs/conformance.md from scored suite runs: counts, grouping and the reasons that survive."""

from __future__ import annotations

from pathlib import Path

from bench import conformance
from bench.conformance_report import (
    Column,
    Outcome,
    Scored,
    SuiteTest,
    common_messages,
    counts,
    load_reasons,
    render,
    required_failures,
)

TESTS = (
    SuiteTest("fresh", "cc", "Cache-Control Freshness", "fresh", "required"),
    SuiteTest("fresh-age", "cc", "Cache-Control Freshness", "age", "required", ("fresh",)),
    SuiteTest("vary-1", "vary", "Vary and Cache Keys", "vary", "required"),
    SuiteTest("vary-opt", "vary", "Vary and Cache Keys", "vary optimal", "optimal"),
    SuiteTest("check-1", "vary", "Vary and Cache Keys", "a check", "check"),
)
OURS = {
    "fresh": Outcome("fail", "Assertion", 'Response 2 header Foo is "a", not "b"'),
    "fresh-age": Outcome("dependency_fail"),
    "vary-1": Outcome("pass"),
    "vary-opt": Outcome("pass"),
    "check-1": Outcome("yes"),
}
PUBLISHED = {k: Outcome("pass") for k in OURS}


def scored() -> Scored:
    return Scored("0.4.5", TESTS, {"ours": OURS})


def test_only_passes_count_and_checks_are_not_required() -> None:
    """Required and optimal passes are counted apart; a check's "yes" is neither."""
    n = counts(TESTS, OURS)
    assert (n.required_pass, n.required, n.optimal_pass, n.optimal) == (1, 3, 1, 1)


def test_failures_are_required_tests_that_did_not_pass_including_dependencies() -> None:
    """A dependency failure is a failure too; an unrun required test is listed as untested."""
    failing = required_failures(TESTS, {k: v for k, v in OURS.items() if k != "vary-1"})
    assert [(t.id, o.outcome) for t, o in failing] == [
        ("fresh", "fail"), ("fresh-age", "dependency_fail"), ("vary-1", "untested"),
    ]  # fmt: skip


def test_common_messages_make_values_and_numbers_generic() -> None:
    """Header mismatches on different values and responses count as one message."""
    results = {
        "fresh": OURS["fresh"],
        "vary-1": Outcome("fail", "Assertion", 'Response 3 header Foo is "x", not "y"'),
        "fresh-age": OURS["fresh-age"],
    }
    assert common_messages(TESTS, results) == [
        ('Assertion: Response N header Foo is "…", not "…"', ["fresh", "vary-1"]),
        ("depends on a test that did not pass", ["fresh-age"]),
    ]


def test_the_doc_groups_failures_by_suite_with_the_committed_reasons(tmp_path: Path) -> None:
    """Each failing required test sits under its suite's heading with the suite's message and
    the reason kept in reasons.toml; published columns are marked as such."""
    reasons_file = tmp_path / "reasons.toml"
    reasons_file.write_text('"fresh" = "work left: headers | allow-list"\n')
    columns = [
        Column("ours", "abc123", OURS, measured=True),
        Column("nginx", "1.18", PUBLISHED, measured=False),
    ]
    doc = render(scored(), columns, "ours", load_reasons(reasons_file), {"date": "today"})
    assert "| ours | abc123 | this run | 1/3 | 1/1 |" in doc
    assert "| nginx | 1.18 | published | 3/3 | 1/1 |" in doc
    assert "| Cache-Control Freshness | 0/2 | 2/2 |" in doc
    section = doc.split("## Required tests ours does not pass (2)", 1)[1]
    heading = section.index("### Cache-Control Freshness")
    assert heading < section.index("`fresh`") < section.index("`fresh-age`")
    assert "work left: headers \\| allow-list" in section
    assert "| `fresh-age` | dependency_fail | depends on `fresh` |  |" in section
    assert "### Vary and Cache Keys" not in section  # nothing required fails there


def test_committed_reasons_and_floor_are_readable() -> None:
    """reasons.toml parses to test ids and reasons; floor.txt holds a count."""
    assert all(isinstance(v, str) for v in load_reasons(conformance.REASONS).values())
    assert conformance.floor() >= 0
    assert load_reasons(Path("/nonexistent/reasons.toml")) == {}
