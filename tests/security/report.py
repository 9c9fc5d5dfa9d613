"""Run the hostile-request suite and print its figures as Markdown for docs/security.md.

    python -m tests.security.report            # or: make security

Runs `pytest tests/security` in a child process with its own basetemp, reads the summary the
suite writes there (tests/security/conftest.py), and prints the figures with the machine, the
date, the servers' versions and the commit they came from.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = names[0] if names else cpu
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = " with uncommitted changes in the tree" if git("status", "--porcelain") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}"


def run_suite(basetemp: Path) -> tuple[str, float]:
    started = time.monotonic()
    argv = [sys.executable, "-m", "pytest", "tests/security", "-q", "-p", "no:cacheprovider",
            "--basetemp", str(basetemp)]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = done.stdout.splitlines()
    tail = [line for line in lines if line.strip()]
    outcome = tail[-1].strip("= ") if tail else f"pytest exited {done.returncode}"
    failed = [line.split(" - ")[0] for line in lines if line.startswith(("FAILED", "ERROR"))]
    return "; ".join([outcome, *failed]), time.monotonic() - started


def render(summary: dict[str, object], outcome: str, seconds: float) -> str:
    def section(key: str) -> dict[str, str]:
        value = summary.get(key, {})
        return value if isinstance(value, dict) else {}

    smuggling = section("smuggling")
    refused = sum(1 for v in smuggling.values() if v.startswith("400"))
    closed = sum(1 for v in smuggling.values() if "closed" in v and not v.startswith("400"))
    lines = [
        f"Command: `python -m tests.security.report` (runs `pytest tests/security`), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}; Python {platform.python_version()}; edge on granian "
        f"{version('granian')}, origin on uvicorn {version('uvicorn')} + httptools "
        f"{version('httptools')}; commit {commit()}",
        f"pytest: {outcome} ({seconds:.0f} s in all, stack start included)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| hostile requests sent | {summary['requests']} |",
        f"| connections opened | {summary['connections']} |",
        f"| private objects fingerprinted | {summary['private_objects']} "
        f"(live channel: {'yes' if summary.get('live_channel') else 'no'}) |",
        f"| answers carrying private bytes or metadata | {summary['private_leaks']} |",
        f"| 5xx answers | {summary['server_errors']} |",
        f"| processes still serving at the end | {summary.get('processes_serving', '?')} of "
        f"{summary.get('processes', '?')} |",
        f"| tracebacks in the process logs | {summary.get('tracebacks_in_logs', '?')} |",
        f"| ambiguous framings: 400 / answered then closed / other | {refused} / {closed} / "
        f"{len(smuggling) - refused - closed} |",
        f"| HTTP/2 cleartext answered on the edge's plain port | "
        f"{'yes' if summary.get('edge_answers_h2c_on_its_plain_port') else 'no'} |",
    ]
    lines += ["", "Slow and idle connections:", ""]
    lines += [f"* {value}" for value in section("slow_connections").values()]
    lines += [f"* {name}: {value}" for name, value in section("idle_connections").items()]
    others = {k: v for k, v in smuggling.items() if not v.startswith("400")}
    if others:
        lines += ["", "Ambiguous framings not answered with a 400:", ""]
        lines += [f"* {name}: {value}" for name, value in sorted(others.items())]
    oversized = section("oversized")
    if oversized:
        lines += ["", "Oversized requests:", ""]
        lines += [f"* {name}: {value}" for name, value in sorted(oversized.items())]
    findings = summary.get("findings") or []
    if isinstance(findings, list) and findings:
        lines += ["", "Findings:", ""] + [f"* `{f}`" for f in findings]
    return "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="security-") as tmp:
        basetemp = Path(tmp) / "run"
        outcome, seconds = run_suite(basetemp)
        path = basetemp / "security-summary.json"
        if not path.is_file():
            print(f"the suite wrote no summary ({outcome})", file=sys.stderr)
            return 1
        print(render(json.loads(path.read_text()), outcome, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
