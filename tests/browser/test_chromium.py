"""The test Chromium trusts the test CA as a CA: by issuer, name and date, like a public root.

Each case is a real HTTPS server on loopback with one certificate, opened by the same browser
every other browser test uses. Under the former SPKI pin
(`--ignore-certificate-errors-spki-list`) the wrong-name and expired certificates loaded too.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Error, Page

from streaming import certs
from tests.tls import LOOPBACK

STRANGER = certs.make_ca("a CA no test browser trusts")
# Issued this long ago, a leaf (valid LEAF_DAYS) has expired.
LONG_AGO = dt.timedelta(days=certs.LEAF_DAYS + 30)


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>trusted</title>trusted"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def https_server(tmp: Path, leaf: certs.Issued, issuer: certs.Issued) -> Iterator[str]:
    """An HTTPS server on an ephemeral loopback port sending `leaf` + `issuer`, as ours do."""
    cert, key = tmp / "leaf.pem", tmp / "leaf-key.pem"
    certs.write(leaf, cert, key, chain=issuer)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def test_ca(browser_ca: Path) -> certs.Issued:
    """The CA the browser's NSS database trusts, with its key, to issue more leaves."""
    return certs.load(browser_ca / "ca.pem", browser_ca / "ca-key.pem")


def test_a_certificate_from_the_trusted_ca_for_the_host_loads(
    page: Page, test_ca: certs.Issued, tmp_path: Path
) -> None:
    with https_server(tmp_path, certs.issue(test_ca, LOOPBACK), test_ca) as url:
        response = page.goto(url, timeout=15_000)
        assert response is not None and response.status == 200
        assert page.title() == "trusted"


@pytest.mark.parametrize(
    ("case", "net_error"),
    [
        ("names another host", "ERR_CERT_COMMON_NAME_INVALID"),
        ("has expired", "ERR_CERT_DATE_INVALID"),
        ("comes from an untrusted CA", "ERR_CERT_AUTHORITY_INVALID"),
    ],
)
def test_a_certificate_chromium_should_refuse_does_not_load(
    page: Page, test_ca: certs.Issued, tmp_path: Path, case: str, net_error: str
) -> None:
    """Trust is by CA and by name: a leaf from the test CA for `wrong.example.test` (the audit's
    case), an expired one, and one for 127.0.0.1 from a stranger CA all fail to load."""
    now = dt.datetime.now(dt.UTC)
    leaf, issuer = {
        "names another host": (certs.issue(test_ca, ("wrong.example.test",)), test_ca),
        "has expired": (certs.issue(test_ca, LOOPBACK, now=now - LONG_AGO), test_ca),
        "comes from an untrusted CA": (certs.issue(STRANGER, LOOPBACK), STRANGER),
    }[case]
    refused = pytest.raises(Error, match=f"net::{net_error}")
    with https_server(tmp_path, leaf, issuer) as url, refused:
        page.goto(url, timeout=15_000)
