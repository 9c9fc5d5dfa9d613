"""`streaming demo` over HTTPS, as `config/demo.toml` runs it: certificates issued from a local
CA at start, edges and the portal on HTTPS, plain HTTP redirected, Secure cookies from the
portal's login, the load test and an experiment run against the state file, and the printed
player line plays in Chromium trusting the demo's own CA."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from procs.supervisor import cli_argv, free_port
from tests.browser.chromium import launch, nss_home
from tests.browser.pages import plays, watch_responses
from tests.factories import distribution_doc, write_config
from tests.test_demo import TOPOLOGY, processes_mentioning, wait_gone
from tests.tls import trust

pytestmark = pytest.mark.e2e


def https_demo_doc(tmp: Path) -> dict[str, Any]:
    """The test topology shaped like config/demo.toml: HTTPS ports, [tls] files still to be
    issued, redirect-to-https everywhere, private content and CORS for the portal's origin."""
    doc = distribution_doc(**TOPOLOGY, domain_names=["cdn.demo.test"])
    for edge in doc["edges"]:
        edge["https_port"] = free_port()
    doc["portal"]["https_port"] = free_port()
    doc["tls"] = {"cert_file": str(tmp / "tls" / "demo.pem"),
                  "key_file": str(tmp / "tls" / "demo-key.pem"),
                  "ca_file": str(tmp / "tls" / "ca.pem")}  # fmt: skip
    doc["key_groups"] = [
        {"id": "viewers", "keys": [{"id": "KTEST", "public_key": str(tmp / "keys" / "d.pub.pem")}]}
    ]
    for behavior in doc["behaviors"]:
        behavior["viewer_protocol_policy"] = "redirect-to-https"
        behavior["trusted_key_groups"] = ["viewers"]
    doc["cors"] = {"allowed_origins": [f"https://127.0.0.1:{doc['portal']['https_port']}"]}
    return doc


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Iterator[dict[str, Any]]:
    """A running `streaming demo` over HTTPS; its state, stdout so far and config."""
    tmp = tmp_path_factory.mktemp("demo-https")
    (tmp / "keys").mkdir()
    doc = https_demo_doc(tmp)
    config = write_config(tmp / "demo.toml", doc)
    state = tmp / "state" / "state.json"
    argv = cli_argv("demo", "--config", str(config), "--media", str(clip), "--state", str(state))
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    try:
        output = ""
        deadline = time.monotonic() + 180
        while "Ctrl-C stops everything" not in output and time.monotonic() < deadline:
            line = process.stdout.readline() if process.stdout else ""
            if not line and process.poll() is not None:
                break
            output += line
        assert "Ctrl-C stops everything" in output, output
        yield {"state": json.loads(state.read_text()), "state_path": state, "output": output,
               "doc": doc, "config": config, "process": process, "tmp": tmp}  # fmt: skip
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for pid in processes_mentioning(str(config)):
            os.kill(pid, signal.SIGKILL)
        assert wait_gone(str(config)) == []


def test_the_state_names_https_edges_and_the_ca_and_the_demo_says_how_to_trust_it(
    demo: dict[str, Any],
) -> None:
    state, doc = demo["state"], demo["doc"]
    ports = {e["pop"]: e["https_port"] for e in doc["edges"]}
    assert [e["url"] for e in state["edges"]] == [
        f"https://127.0.0.1:{ports[e['pop']]}" for e in state["edges"]
    ]
    assert all(e["http_url"].startswith("http://127.0.0.1:") for e in state["edges"])
    assert state["player_url"] == f"https://127.0.0.1:{doc['portal']['https_port']}/player"
    assert state["ca_file"] == doc["tls"]["ca_file"] and Path(state["ca_file"]).is_file()
    assert f"curl --cacert {state['ca_file']} https://127.0.0.1:" in demo["output"]
    assert f"-n streaming-cdn-demo -i {state['ca_file']}" in demo["output"]


def test_plain_http_is_redirected_and_https_serves_signed_in_viewers(demo: dict[str, Any]) -> None:
    """301 to the HTTPS port; the portal's login over HTTPS sets Secure cookies that play
    through every edge over HTTP/2 (Miss, then Hit)."""
    state = demo["state"]
    master = state["videos"][0]["master_path"]
    first = state["edges"][0]
    plain = httpx.get(first["http_url"] + master, timeout=10)
    assert (plain.status_code, plain.headers["location"]) == (301, first["url"] + master)
    portal = state["player_url"].rsplit("/", 1)[0]
    plain_portal = httpx.get(f"http://127.0.0.1:{demo['doc']['portal']['port']}/player?x=1")
    assert plain_portal.status_code == 301
    assert plain_portal.headers["location"] == f"{portal}/player?x=1"
    with httpx.Client(http2=True, verify=trust(state["ca_file"]), timeout=10) as client:
        login = client.post(f"{portal}/api/login", json={"video": state["videos"][0]["id"]})
        assert login.status_code == 200, login.text
        set_cookies = login.headers.get_list("set-cookie")
        assert set_cookies and all("; Secure" in c and "HttpOnly" in c for c in set_cookies)
        for edge in state["edges"]:
            miss = client.get(edge["url"] + master)
            hit = client.get(edge["url"] + master)
            assert (miss.status_code, miss.http_version) == (200, "HTTP/2")
            assert miss.headers["x-cache"] == f"Miss from {edge['pop']}"
            assert hit.headers["x-cache"] == f"Hit from {edge['pop']}"


def test_the_load_test_and_an_experiment_run_against_the_https_state(
    demo: dict[str, Any], tmp_path: Path
) -> None:
    """Both take the CA from the state file: no request fails on the certificate."""
    report = tmp_path / "loadtest.json"
    done = subprocess.run(
        cli_argv("loadtest", "--demo", str(demo["state_path"]), "--viewers", "3",
                 "--duration", "3", "--json", str(report)),
        capture_output=True, text=True, timeout=90, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(report.read_text())
    assert summary["requests"] > 0 and summary["errors"] == 0, summary["failures"]
    assert all(t.startswith("https://") for t in summary["plan"]["targets"])
    scenario = tmp_path / "quiet.toml"
    scenario.write_text(
        'name = "quiet"\nduration = 4\n[viewers]\ncount = 2\nramp = 0\n'
        '[topology]\nregions = ["us-east", "eu-west"]\n'
    )
    out = tmp_path / "experiment"
    done = subprocess.run(
        cli_argv("experiment", str(scenario), "--state", str(demo["state_path"]),
                 "--out", str(out)),
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((out / "report.json").read_text())
    assert result["summary"]["requests"] > 0 and result["summary"]["viewer_visible_errors"] == 0
    # Each edge's /healthz was read on its plain listener while the viewers used HTTPS.
    assert set(result["origin_requests"]["by_edge"]) == {e["pop"] for e in demo["state"]["edges"]}


def test_the_demo_player_plays_in_chromium_trusting_the_demos_own_ca(
    demo: dict[str, Any], tmp_path: Path
) -> None:
    """The player line `streaming demo` prints, in real Chromium that trusts the CA the demo
    issued at start (an NSS database, as docs/https.md tells users), not the tests' CA nor an
    exception to certificate errors: sign in, play, media over HTTP/2 from the edge, Secure
    cookies."""
    state = demo["state"]
    edge = state["edges"][0]
    home = nss_home(Path(state["ca_file"]), tmp_path / "home")
    with sync_playwright() as playwright:
        browser = launch(playwright, home)
        try:
            page = browser.new_context().new_page()
            responses = watch_responses(page)
            url = f"{state['player_url']}?video={state['videos'][0]['id']}&pop={edge['pop']}"
            plays(page, url, "the demo's player", start_within=30, advance=1, advance_within=15)
            media = [r for r in responses if r["url"].startswith(edge["url"] + "/hls/")]
            assert page.url.startswith("https://") and media
            assert {r["protocol"] for r in media} == {"h2"}
            cookies = [c for c in page.context.cookies() if c["name"].startswith("CloudFront-")]
            assert cookies and all(c["secure"] for c in cookies)
        finally:
            browser.close()
