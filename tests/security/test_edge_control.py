"""The edge's own paths: the public ones say nothing private, the admin ones need the token.

`/healthz` and `/metrics` are open (supervisors, scrapers); they must not name an origin's
address (the way around the edges), a secret or any private byte. `/admin/*` refuses without
the admin token, also when the path is spelled differently.
"""

from __future__ import annotations

import pytest

from tests.factories import TOKEN
from tests.security.ledger import report
from tests.security.probe import Prober
from tests.security.rawhttp import request
from tests.security.stack import ORIGIN_SECRET, SecureStack

pytestmark = pytest.mark.e2e

ADMIN = ["/admin/cache/clear", "/admin/invalidations/sync"]


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_public_control_paths_name_no_origin_address_and_no_secret(
    prober: Prober, stack: SecureStack, path: str
) -> None:
    x, problems = prober.send("edge", request(path, prober.host("edge")))
    assert not problems, report(problems)
    assert x.status == 200 and x.first is not None
    body = x.first.body.decode("latin-1")
    origin_port = str(stack.address("origin")[1])
    for secret in (ORIGIN_SECRET, TOKEN, stack.filename, f":{origin_port}", stack.target):
        assert secret not in body, f"{path} tells anyone {secret!r}"


@pytest.mark.parametrize(
    "path", ADMIN + ["/admin/cache/clear/", "/admin//cache/clear", "/admin/cache/clear?x=1",
                     "/admin/%63ache/clear", "/ADMIN/cache/clear", "//admin/cache/clear"],
)  # fmt: skip
def test_admin_paths_refuse_without_the_token(prober: Prober, path: str) -> None:
    for headers in ([], [("Authorization", "Bearer wrong")], [("Authorization", TOKEN)]):
        data = request(path, prober.host("edge"), "POST", headers + [("Content-Length", "0")])
        x, problems = prober.send("edge", data)
        assert not problems, report(problems)
        # 307: Starlette's trailing-slash redirect, to the same path that then wants the token
        assert x.status in (307, 400, 401, 403, 404, 405), x.describe()
        assert b'"removed"' not in (x.first.body if x.first else b""), x.describe()
