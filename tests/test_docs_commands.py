"""Every shell command in README.md and docs/*.md is run (here, or against a real demo by
tests/docs/test_demo_commands.py) or listed, with a reason, in tests/docs_examples.toml; every
`streaming` command's subcommand and flags must exist.
"""

from __future__ import annotations

import re
import shlex
import time
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from experiments.scenario import parse
from streaming import keys
from streaming.config import KeyGroup, PublicKey
from streaming.errors import StreamingError
from streaming.signing import Verifier
from tests.access import request_for
from tests.docs.test_demo_commands import RUN_AGAINST_DEMO

ROOT = Path(__file__).resolve().parent.parent
SHELL = {"sh", "bash", "console", "shell"}
# In unlabelled blocks (file trees, diagrams) only lines that look like commands count
# (a file tree's "streaming    the leaf" is not: one space, then a word).
LOOKS_LIKE_COMMAND = re.compile(r"^(\$ |(streaming|make|curl) \S|python -m)")
FENCE = re.compile(r"^\s*(```+|~~~+)\s*(\S*)")
runner = CliRunner()


def documented_commands() -> set[str]:
    """Commands in fenced blocks: prompts and trailing comments dropped, continuations joined."""
    found: set[str] = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lang: str | None = None
        pending = ""
        for line in doc.read_text().splitlines():
            fence = FENCE.match(line)
            if fence:
                lang = fence.group(2) if lang is None else None
                continue
            if lang is None:
                continue
            text = pending + line.strip()
            if text.endswith("\\"):
                pending = text[:-1].rstrip() + " "
                continue
            pending = ""
            if lang not in SHELL and not LOOKS_LIKE_COMMAND.match(text):
                continue
            text = text.removeprefix("$ ")
            text = re.sub(r"\s+#.*$", "", text)
            if text:
                found.add(" ".join(text.split()))
    return found


def not_run() -> dict[str, str]:
    return tomllib.loads((ROOT / "tests" / "docs_examples.toml").read_text())["not_run"]


# Run by test_key_and_signing_commands_work_as_written, in this order, in a temp directory.
RUN = [
    "streaming keys generate --out keys --name viewers",
    "streaming sign url https://cdn.demo.test/hls/<id>/master.m3u8 --key keys/viewers.pem",
    "streaming sign cookies --resource '*://cdn.demo.test/hls/<id>/*' --key keys/viewers.pem",
    "streaming sign token --key keys/viewers.pem --resource '*://*/hls/<id>/*'",
    "streaming sign url https://cdn.demo.test/hls/<id>/master.m3u8 --key keys/viewers.pem "
    "--resource 'https://cdn.demo.test/hls/<id>/*' --ip 203.0.113.0/24 --hash SHA256",
]


def test_every_documented_command_is_run_or_listed_with_a_reason() -> None:
    """A new command in the docs must be run (here or against the demo in tests/docs/) or listed;
    neither holds a command the docs no longer show."""
    docs = documented_commands()
    listed = not_run()
    run = set(RUN) | set(RUN_AGAINST_DEMO)
    assert sorted(docs - run - set(listed)) == []
    assert sorted(set(listed) - docs) == []
    assert sorted(run - docs) == []
    assert sorted(run & set(listed)) == []
    assert all(reason.strip() for reason in listed.values())


def subcommand_and_flags(command: str) -> tuple[list[str], list[str]]:
    words = shlex.split(command.replace("[", " ").replace("]", " "))[1:]
    path = [w for w in words[:2] if not w.startswith("-") and w.isidentifier()]
    if path[:1] not in (["keys"], ["sign"]):
        path = path[:1]
    return path, [w.split("=")[0] for w in words if w.startswith("--")]


@pytest.mark.parametrize(
    "command",
    sorted(c for c in documented_commands() if c.startswith("streaming ") and "|" not in c),
)
def test_documented_streaming_command_names_real_subcommand_and_flags(command: str) -> None:
    """`streaming SUB --help` exists and lists every flag the docs pass to it."""
    path, flags = subcommand_and_flags(command)
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    missing = [f for f in flags if f not in result.output]
    assert missing == [], f"{command}: {missing} not in `streaming {' '.join(path)} --help`"


def test_key_and_signing_commands_work_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keys generate writes a pair; sign url verifies; cookies and token print their values."""
    monkeypatch.chdir(tmp_path)
    outputs = []
    for command in RUN:
        result = runner.invoke(app, shlex.split(command)[1:])
        assert result.exit_code == 0, f"{command}: {result.output}"
        outputs.append(result.output)
    key_id = outputs[0].split("key pair id: ")[1].split()[0]
    group = KeyGroup(
        id="viewers",
        keys=(PublicKey(id=key_id, public_key=str(tmp_path / "keys/viewers.pub.pem")),),
    )
    verifier = Verifier(keys.KeyRing.from_config((group,)))
    grant = verifier.verify(request_for(outputs[1].strip()), ("viewers",), time.time())
    assert grant.key_pair_id == key_id
    header = outputs[2].strip().removeprefix("Cookie: ")
    cookies = dict(part.split("=", 1) for part in header.split("; "))
    page = request_for("https://cdn.demo.test/hls/<id>/a.ts", cookies=cookies)
    assert verifier.verify(page, ("viewers",), time.time()).key_pair_id == key_id
    assert outputs[3].strip().count(".") >= 2  # a JWT: header.payload.signature
    # The custom policy: any object of the video, from that network only.
    segment = outputs[4].strip().replace("/master.m3u8?", "/720p/seg_00001.ts?")
    assert verifier.verify(request_for(segment, "203.0.113.7"), ("viewers",), time.time())
    with pytest.raises(StreamingError):
        verifier.verify(request_for(segment, "198.51.100.7"), ("viewers",), time.time())


def test_documented_scenario_file_loads() -> None:
    """failover.md's scenario-file example (what `my-scenario.toml` holds) is a valid scenario."""
    text = (ROOT / "docs" / "failover.md").read_text()
    block = next(
        b for b in re.findall(r"^```toml\n(.*?)^```", text, re.M | re.S)
        if b.startswith('name = "my-scenario"')
    )  # fmt: skip
    scenario = parse(tomllib.loads(block))
    assert scenario.topology.shield == "us-east" and scenario.faults[0].action == "kill"
