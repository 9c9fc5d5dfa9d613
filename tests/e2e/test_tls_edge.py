"""One real edge process over TLS: a certificate per alternate domain name (SNI), 421 for a
Host it does not serve, session resumption, HTTP/3 over QUIC on the HTTPS port's number, and a
bad key file that stops start-up with one line."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest
from cryptography import x509

from edge.access_log import FLUSH_SECONDS
from procs.supervisor import free_port
from streaming.policy import Policy
from streaming.viewer_access import video_resource
from tests.access import key_group, signer
from tests.factories import distribution_doc, running_topology, write_config
from tests.h3client import h3_connect
from tests.helpers import upload, wait_state
from tests.tls import LOOPBACK, issue, make_ca, trust

pytestmark = pytest.mark.e2e
NAMES = ["cdn.demo.test", "shop.example.test", "*.tv.example.test"]
HEALTH_REQUEST = b"GET /healthz HTTP/1.1\r\nhost: cdn.demo.test\r\nconnection: close\r\n\r\n"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Iterator[dict[str, Any]]:
    """An edge whose default certificate covers cdn.demo.test and loopback, with certificates
    of their own for shop.example.test and *.tv.example.test; /hls/ needs signed cookies."""
    tmp = tmp_path_factory.mktemp("tls-edge")
    pki = tmp / "pki"
    pki.mkdir()
    ca = make_ca(pki)
    doc = distribution_doc(domain_names=NAMES)
    https_port = free_port()
    doc["edges"][0]["https_port"] = https_port
    doc["tls"] = {
        **issue(pki, "default", ("cdn.demo.test", *LOOPBACK), ca), "ca_file": str(pki / "ca.pem"),
        "certificates": [issue(pki, "shop", ("shop.example.test",), ca),
                         issue(pki, "tv", ("*.tv.example.test",), ca)],
    }  # fmt: skip
    doc["key_groups"] = [key_group("viewers", "tls-viewer")]
    for behavior in doc["behaviors"][:-1]:
        behavior["trusted_key_groups"] = ["viewers"]
    with running_topology(tmp, doc) as topology:
        origin = topology.origin_url("us-east")
        video = upload(origin, clip)
        wait_state(origin, video)
        policy = Policy(video_resource(video), int(time.time()) + 600)
        cookies = signer("tls-viewer").cookies(policy)
        yield {
            "port": https_port, "ca": str(pki / "ca.pem"), "video": video, "tmp": tmp,
            "cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "doc": doc,
            "log": tmp / "edge" / "iad" / "access.log",
        }  # fmt: skip


def served_names(port: int, context: ssl.SSLContext, sni: str | None) -> set[str]:
    """The DNS names of the certificate the edge presents for `sni`."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=sni) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    san = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    return set(san.value.get_values_for_type(x509.DNSName))


def test_each_alternate_domain_name_is_served_its_own_certificate(edge: dict[str, Any]) -> None:
    """SNI selects the certificate, verified against the CA with hostname checks on."""
    verified = trust(edge["ca"])
    assert served_names(edge["port"], verified, "shop.example.test") == {"shop.example.test"}
    assert served_names(edge["port"], verified, "live.tv.example.test") == {"*.tv.example.test"}
    assert served_names(edge["port"], verified, "cdn.demo.test") == {"cdn.demo.test", "localhost"}
    with httpx.Client(http2=True, verify=verified, timeout=10) as client:
        answer = client.get(
            f"https://127.0.0.1:{edge['port']}/hls/{edge['video']}/master.m3u8",
            headers={"host": "shop.example.test", "cookie": edge["cookie"]},
            extensions={"sni_hostname": "shop.example.test"},
        )
    assert answer.status_code == 200 and answer.http_version == "HTTP/2"


def test_unknown_sni_gets_the_default_certificate_and_an_unserved_host_421(
    edge: dict[str, Any],
) -> None:
    """A name no certificate covers still completes the handshake with the default certificate;
    a Host the distribution does not serve is 421 Misdirected Request."""
    unverified = trust(edge["ca"])
    unverified.check_hostname = False
    assert "cdn.demo.test" in served_names(edge["port"], unverified, "nobody.example.test")
    assert "cdn.demo.test" in served_names(edge["port"], unverified, None)
    with httpx.Client(http2=True, verify=unverified, timeout=10) as client:
        answer = client.get(
            f"https://127.0.0.1:{edge['port']}/hls/{edge['video']}/master.m3u8",
            headers={"host": "nobody.example.test", "cookie": edge["cookie"]},
            extensions={"sni_hostname": "nobody.example.test"},
        )
    assert (answer.status_code, answer.json()["reason"]) == (421, "unknown_host")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_a_returning_viewer_resumes_its_tls_session(
    edge: dict[str, Any], version: ssl.TLSVersion
) -> None:
    """Session tickets: the second connection skips the full handshake."""
    context = trust(edge["ca"])
    context.minimum_version = context.maximum_version = version
    session = None
    reused = []
    for _ in range(2):
        with (
            socket.create_connection(("127.0.0.1", edge["port"]), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="cdn.demo.test", session=session) as tls,
        ):
            tls.sendall(HEALTH_REQUEST)
            while tls.recv(65536):  # reading is what delivers TLS 1.3 tickets
                pass
            reused.append(tls.session_reused)
            session = tls.session
    assert reused == [False, True]


def test_https_responses_advertise_http3_on_the_same_port(edge: dict[str, Any]) -> None:
    with httpx.Client(http2=True, verify=trust(edge["ca"]), timeout=10) as client:
        answer = client.get(f"https://127.0.0.1:{edge['port']}/healthz")
    assert answer.headers["alt-svc"] == f'h3=":{edge["port"]}"; ma=3600'


def test_http3_serves_playlists_and_segments_with_hits_misses_ranges_and_cookies(
    edge: dict[str, Any],
) -> None:
    """An aioquic client over QUIC (ALPN h3, certificate verified): the same pipeline as HTTP/2,
    cookies sent one per field line accepted, and the edge's access log says HTTP/3."""
    authority = f"cdn.demo.test:{edge['port']}"
    master_path = f"/hls/{edge['video']}/master.m3u8"

    async def session() -> dict[str, Any]:
        async with h3_connect("127.0.0.1", edge["port"], edge["ca"], "cdn.demo.test") as h3:
            with_cookies = {"cookie": edge["cookie"]}
            refused = await h3.get(authority, master_path)
            master = await h3.get(authority, master_path, with_cookies)
            variant = m3u8.loads(master.body.decode()).playlists[-1].uri  # not fetched yet
            media_path = f"/hls/{edge['video']}/{variant}"
            media = await h3.get(authority, media_path, with_cookies)
            again = await h3.get(authority, media_path, with_cookies)
            segment_uri = m3u8.loads(media.body.decode()).segments[0].uri
            segment_path = f"{media_path.rsplit('/', 1)[0]}/{segment_uri}"
            # One field per cookie, as Chromium sends them over HTTP/3: the edge joins them.
            crumbled = [("cookie", c) for c in edge["cookie"].split("; ")]
            whole = await h3.get(authority, segment_path, crumbled)
            ranged = await h3.get(authority, segment_path, {**with_cookies, "range": "bytes=0-99"})
            return {"alpn": h3.alpn, "refused": refused, "master": master, "again": again,
                    "media": media, "whole": whole, "ranged": ranged}  # fmt: skip

    got = asyncio.run(session())
    assert got["alpn"] == "h3"
    assert (got["refused"].status, json.loads(got["refused"].body)["reason"]) == (403, "missing")
    assert got["master"].status == 200 and got["master"].body.startswith(b"#EXTM3U")
    assert got["media"].status == 200 and got["media"].headers["x-cache"] == "Miss from iad"
    assert got["again"].headers["x-cache"] == "Hit from iad"
    whole, ranged = got["whole"], got["ranged"]
    assert whole.status == 200 and len(whole.body) == int(whole.headers["content-length"]) > 100
    assert whole.headers["x-cache"] == "Miss from iad"
    assert ranged.status == 206 and ranged.body == whole.body[:100]
    assert ranged.headers["content-range"] == f"bytes 0-99/{len(whole.body)}"
    assert ranged.headers["x-cache"] == "Hit from iad"
    time.sleep(FLUSH_SECONDS + 0.1)  # the log flushes on the next request after this
    httpx.get(f"http://127.0.0.1:{edge['doc']['edges'][0]['port']}/nothing", timeout=5)
    lines = [json.loads(line) for line in edge["log"].read_text().splitlines()]
    h3_paths = {entry["cs-uri-stem"] for entry in lines
                if entry["cs-protocol-version"] == "HTTP/3"}  # fmt: skip
    assert master_path in h3_paths and len(h3_paths) >= 3


def test_a_key_that_is_not_the_certificates_stops_the_edge_with_one_line(
    edge: dict[str, Any],
) -> None:
    """A ConfigError on stderr, exit status 2, no traceback, nothing listening."""
    doc = {**edge["doc"], "tls": {**edge["doc"]["tls"]}}
    doc["tls"]["key_file"] = doc["tls"]["certificates"][0]["key_file"]
    doc["edges"] = [{**doc["edges"][0], "port": free_port(), "https_port": free_port()}]
    config = write_config(edge["tmp"] / "bad-key.toml", doc)
    done = subprocess.run(
        [sys.executable, "-m", "cli", "edge", "--config", str(config), "--pop", "iad"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: tls.key_file:") and "is not the key of" in lines[0]
