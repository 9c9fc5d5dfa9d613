"""docs/conformance.md from scored suite runs: counts, per-suite table, our failing required tests.

Pure: takes what `bench.conformance` measured (already scored by the suite's own
`determineTestResult()`), the committed reasons, and returns Markdown.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Published results shown beside ours, by the name the suite's results/index.mjs gives them.
PUBLISHED = ("nginx", "Varnish", "Squid", "httpd", "ATS", "Fastly")


@dataclass(frozen=True)
class SuiteTest:
    """One test of the suite as a shared cache runs it."""

    id: str
    suite: str
    suite_name: str
    name: str
    kind: str  # required | optimal | check
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """The suite's verdict on one test: its result type and the raw error, if any."""

    outcome: str  # pass, fail, optional_fail, yes, no, setup_fail, dependency_fail, retry, ...
    error: str | None = None
    message: str | None = None


Results = Mapping[str, Outcome]


@dataclass(frozen=True)
class Column:
    """One cache in the tables: measured in this run, or from the suite's stored results."""

    name: str
    version: str
    results: Results
    measured: bool


@dataclass(frozen=True)
class Counts:
    required_pass: int
    required: int
    optimal_pass: int
    optimal: int


@dataclass(frozen=True)
class Scored:
    """What score.mjs returns: the suite's version and tests, each run's and each published
    implementation's outcomes."""

    version: str
    tests: tuple[SuiteTest, ...]
    runs: dict[str, dict[str, Outcome]]
    published: list[Column] = field(default_factory=list)


def parse_scored(doc: Mapping[str, Any]) -> Scored:
    """score.mjs's JSON as typed values."""
    tests = tuple(
        SuiteTest(
            t["id"], t["suite"], t["suite_name"], t["name"], t["kind"], tuple(t["depends_on"])
        )
        for t in doc["tests"]
    )
    runs = {name: _outcomes(r) for name, r in doc["runs"].items()}
    published = [
        Column(p["name"], p["version"], _outcomes(p["results"]), measured=False)
        for p in doc["published"]
    ]
    return Scored(doc["version"], tests, runs, published)


def _outcomes(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, Outcome]:
    return {k: Outcome(v["outcome"], v.get("error"), v.get("message")) for k, v in raw.items()}


def passed(results: Results, test_id: str) -> bool:
    return test_id in results and results[test_id].outcome == "pass"


def counts(tests: Sequence[SuiteTest], results: Results) -> Counts:
    """Passes among required and optimal tests, as the suite's summary counts them."""
    required = [t for t in tests if t.kind == "required"]
    optimal = [t for t in tests if t.kind == "optimal"]
    passed = {k for k, v in results.items() if v.outcome == "pass"}
    return Counts(
        sum(t.id in passed for t in required), len(required),
        sum(t.id in passed for t in optimal), len(optimal),
    )  # fmt: skip


def required_failures(
    tests: Sequence[SuiteTest], results: Results
) -> list[tuple[SuiteTest, Outcome]]:
    """Every required test that did not pass (failed, setup, dependency, retry, untested)."""
    missing = Outcome("untested")
    return [
        (t, results.get(t.id, missing))
        for t in tests
        if t.kind == "required" and results.get(t.id, missing).outcome != "pass"
    ]


def message(test: SuiteTest, outcome: Outcome) -> str:
    """The suite's message for a failure; for a dependency failure, the tests it waits on."""
    if outcome.outcome == "dependency_fail":
        return "depends on " + ", ".join(f"`{d}`" for d in test.depends_on)
    if outcome.outcome == "untested":
        return "not run"
    return f"{outcome.error}: {outcome.message}" if outcome.error else str(outcome.message)


def common_messages(
    tests: Sequence[SuiteTest], results: Results, top: int = 20
) -> list[tuple[str, list[str]]]:
    """The most frequent failure messages with quoted values and numbers made generic, so
    `Response 2 header Foo is "a", not "b"` counts with every such header mismatch; each with
    the ids of the tests that fail with it."""
    found: dict[str, list[str]] = {}
    for test, outcome in required_failures(tests, results):
        text = message(test, outcome)
        if outcome.outcome != "dependency_fail":
            text = re.sub(r'"[^"]*"', '"…"', text)
            text = re.sub(r"\b\d+\b", "N", text)
        else:
            text = "depends on a test that did not pass"
        found.setdefault(text, []).append(test.id)
    ranked = sorted(found.items(), key=lambda item: -len(item[1]))  # stable: first seen first
    return ranked[:top]


def load_reasons(path: Path) -> dict[str, str]:
    """Reasons by test id from the committed TOML (`"<test-id>" = "<reason>"`), {} if absent."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def _heading(column: Column) -> str:
    return column.name if column.measured else f"{column.name} (pub.)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _count(tests: Sequence[SuiteTest], results: Results, kind: str) -> str:
    kind_tests = [t for t in tests if t.kind == kind]
    passed = sum(results.get(t.id, Outcome("untested")).outcome == "pass" for t in kind_tests)
    return f"{passed}/{len(kind_tests)}" if kind_tests else "–"


def render(
    scored: Scored,
    columns: Sequence[Column],
    ours: str,
    reasons: Mapping[str, str],
    about: Mapping[str, str],
) -> str:
    """The whole of docs/conformance.md."""
    tests = scored.tests
    out = [
        "# HTTP cache conformance",
        "",
        "Generated by `make conformance` (`python -m bench.conformance`); do not edit by hand, "
        "except the reasons, which live in `bench/conformance/reasons.toml`.",
        "",
        "The [HTTP caching test suite](https://cache-tests.fyi/): its test origin on loopback "
        "(bound to 127.0.0.1 by `bench/conformance/origin.mjs`), each cache in front of it, the "
        "suite's CLI against each cache, every result scored by the suite's own "
        "`determineTestResult()` (`bench/conformance/score.mjs`). *Published* columns are the "
        "results stored with that copy of the suite (`results/`, scored the same way against "
        "the same tests): the versions named there, not measured here.",
        "",
        *(f"- {k}: {v}" for k, v in about.items()),
        "",
        "## Summary",
        "",
        "| cache | version | source | required passed | optimal passed |",
        "|---|---|---|---|---|",
    ]
    for c in columns:
        n = counts(tests, c.results)
        source = "this run" if c.measured else "published"
        out.append(
            f"| {c.name} | {_cell(c.version)} | {source} | {n.required_pass}/{n.required} "
            f"| {n.optimal_pass}/{n.optimal} |"
        )
    out += [
        "",
        "## Required passed, by suite",
        "",
        "| suite | " + " | ".join(_heading(c) for c in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    suites: dict[str, list[SuiteTest]] = {}
    for t in tests:
        suites.setdefault(t.suite_name, []).append(t)
    for name, members in suites.items():
        if not any(t.kind == "required" for t in members):
            continue
        cells = [_count(members, c.results, "required") for c in columns]
        out.append(f"| {_cell(name)} | " + " | ".join(cells) + " |")
    out += _failures(scored, ours, reasons)
    out += _messages(scored, ours)
    return "\n".join(out) + "\n"


def _failures(scored: Scored, ours: str, reasons: Mapping[str, str]) -> list[str]:
    failing = required_failures(scored.tests, scored.runs[ours])
    out = [
        "",
        f"## Required tests {ours} does not pass ({len(failing)})",
        "",
        "Grouped by suite. `reason` comes from `bench/conformance/reasons.toml` (keyed by test "
        "id): a CDN policy choice we accept, or the work left.",
    ]
    suite = None
    for test, outcome in failing:
        if test.suite_name != suite:
            suite = test.suite_name
            out += ["", f"### {_cell(suite)}", "", "| test | result | suite's message | reason |",
                    "|---|---|---|---|"]  # fmt: skip
        out.append(
            f"| `{test.id}` | {outcome.outcome} | {_cell(message(test, outcome))} "
            f"| {_cell(reasons.get(test.id, ''))} |"
        )
    return out


def _messages(scored: Scored, ours: str) -> list[str]:
    common = common_messages(scored.tests, scored.runs[ours])
    out = ["", f"## Most common failure messages ({ours}, required tests)", "",
           "| tests | message (values and numbers made generic) | for example |",
           "|---|---|---|"]  # fmt: skip
    for text, ids in common:
        examples = ", ".join(f"`{i}`" for i in ids[:4]) + (", …" if len(ids) > 4 else "")
        out.append(f"| {len(ids)} | {_cell(text)} | {examples} |")
    return out
