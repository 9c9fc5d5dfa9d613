"""A viewer cannot claim another address or another entitlement with headers.

Client addresses are the TCP peer unless a trusted proxy says otherwise, and this distribution
trusts none: `X-Forwarded-For` and its cousins never satisfy a policy's `AWS:SourceIp`. Cookies
for one video open only that video, whatever the Host, and a credential that fails is never
rescued by a second one.
"""

from __future__ import annotations

import ipaddress
import time

import pytest

from streaming.policy import Policy
from tests.access import signer
from tests.security.ledger import report
from tests.security.probe import Prober
from tests.security.rawhttp import request
from tests.security.stack import DOMAIN, VIEWERS, SecureStack, video_cookies

pytestmark = pytest.mark.e2e

ELSEWHERE = "203.0.113.7"  # TEST-NET-3: never the loopback peer


def ip_cookies(resource: str, cidr: str) -> str:
    policy = Policy(resource, int(time.time()) + 600, source_ip=ipaddress.IPv4Network(cidr))
    return "; ".join(f"{k}={v}" for k, v in signer(VIEWERS).cookies(policy).items())


def test_cookies_bound_to_the_loopback_peer_are_served(prober: Prober, stack: SecureStack) -> None:
    """The control: the same policy shape with the viewer's real address plays."""
    path = f"/hls/{stack.target}/master.m3u8"
    cookies = ip_cookies(f"*://*/*/{stack.target}/*", "127.0.0.1/32")
    x = prober.legitimate("edge", request(path, prober.host("edge"), headers=[("Cookie", cookies)]))
    assert x.status == 200, x.describe()


@pytest.mark.parametrize(
    "header",
    ["X-Forwarded-For", "Forwarded", "X-Real-IP", "True-Client-IP", "CF-Connecting-IP",
     "X-Client-IP", "X-Cluster-Client-IP", "Fastly-Client-IP", "X-Original-Forwarded-For"],
)  # fmt: skip
def test_a_forwarding_header_does_not_satisfy_a_source_ip_condition(
    prober: Prober, stack: SecureStack, header: str
) -> None:
    path = f"/hls/{stack.target}/master.m3u8"
    cookies = ip_cookies(f"*://*/*/{stack.target}/*", f"{ELSEWHERE}/32")
    value = f"for={ELSEWHERE}" if header == "Forwarded" else ELSEWHERE
    for claimed in (value, f"{value}, {value}"):
        headers = [("Cookie", cookies), (header, claimed)]
        x, problems = prober.send("edge", request(path, prober.host("edge"), headers=headers))
        assert not problems, report(problems)
        assert x.status == 403 and b"ip_not_allowed" in (x.first.body if x.first else b""), (
            x.describe()
        )


@pytest.mark.parametrize(
    "host", [DOMAIN, "127.0.0.1", "localhost", "evil.example", f"{DOMAIN}:80", "", "a" * 300]
)
def test_cookies_for_another_video_open_nothing_whatever_the_host(
    prober: Prober, stack: SecureStack, host: str
) -> None:
    cookies = video_cookies(stack.other)
    for path in stack.paths():
        data = request(path, host, headers=[("Cookie", cookies)])
        x, problems = prober.send("edge", data, anonymous=False)
        assert not problems, report(problems)
        assert x.status in (400, 403, 421), x.describe()  # 421: a Host the edge does not serve


def test_a_bad_signed_url_is_not_rescued_by_valid_cookies(
    prober: Prober, stack: SecureStack
) -> None:
    """With signing parameters in the query, cookies are ignored (as in CloudFront)."""
    path = f"/hls/{stack.target}/master.m3u8"
    target = f"{path}?Expires=1&Signature=AAAA&Key-Pair-Id=K"
    cookies = video_cookies(stack.target)
    x, problems = prober.send(
        "edge", request(target, prober.host("edge"), headers=[("Cookie", cookies)])
    )
    assert not problems, report(problems)
    assert x.status == 403, x.describe()


@pytest.mark.parametrize(
    "cookie",
    ["CloudFront-Policy=; CloudFront-Signature=; CloudFront-Key-Pair-Id=",
     "CloudFront-Key-Pair-Id=KDEMO; CloudFront-Expires=99999999999; CloudFront-Signature=x",
     "CloudFront-Policy=eyJTdGF0ZW1lbnQiOltdfQ__; CloudFront-Signature=x; CloudFront-Key-Pair-Id=K",
     "CloudFront-Policy=" + "%" * 100, "=; ==; ;;;", "CloudFront-Signature=\x7f"],
)  # fmt: skip
def test_malformed_cookies_are_refused_without_a_5xx(
    prober: Prober, stack: SecureStack, cookie: str
) -> None:
    for path in stack.paths():
        x, problems = prober.send(
            "edge", request(path, prober.host("edge"), headers=[("Cookie", cookie)])
        )
        assert not problems, report(problems)
        assert x.status in (400, 403), x.describe()


def test_a_signed_url_for_another_video_does_not_climb_into_the_target(
    prober: Prober, stack: SecureStack
) -> None:
    """A custom-policy URL for `*/<other>/*` (the demo login's shape, as a query) with `..`
    detours to the target: refused, like the same detours with cookies."""
    policy = Policy(f"*://*/*/{stack.other}/*", int(time.time()) + 600)
    query = signer(VIEWERS).signed_url("http://x/", policy=policy).split("?", 1)[1]
    own = f"/hls/{stack.other}/master.m3u8?{query}"  # the control: it opens the other video
    assert prober.legitimate("edge", request(own, prober.host("edge"))).status == 200
    problems = []
    for path in stack.paths():
        for dd, sep in (("..", "/"), ("%2e%2e", "/"), ("..", "%2f"), ("%2e%2e", "%2f")):
            target = f"/hls/{stack.other}/{dd}{sep}{dd}{sep}{path[1:]}?{query}"
            _, found = prober.send("edge", request(target, prober.host("edge")), anonymous=False)
            problems += found
    assert not problems, report(problems)


def test_a_canned_url_for_one_object_opens_no_sibling(prober: Prober, stack: SecureStack) -> None:
    """A canned policy covers exactly one URL: its query moved to any other object is refused."""
    authority = prober.host("edge")
    master = f"/hls/{stack.target}/master.m3u8"
    url = signer(VIEWERS).signed_url(f"http://{authority}{master}", expires=int(time.time()) + 600)
    query = url.split("?", 1)[1]
    assert prober.legitimate("edge", request(f"{master}?{query}", authority)).status == 200
    problems = []
    for path in stack.paths():
        if path == master:
            continue
        x, found = prober.send("edge", request(f"{path}?{query}", authority))
        problems += found
        if x.status != 403:
            problems.append(prober.ledger.add("leak", "edge", x, "a canned URL opened a sibling"))
    assert not problems, report(problems)
