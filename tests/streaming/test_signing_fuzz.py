"""Property-based: whatever a viewer sends as cookies, query or policy, the answer is
a 403 reason.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import cookie_parser

from streaming.errors import AccessDenied
from streaming.policy import Policy, resource_matches
from streaming.signing import REASONS, SignedRequest, Verifier, b64encode, credentials, split_query
from tests.access import key_group, key_id, ring, signer

VERIFIER = Verifier(ring(key_group("viewers", "alice")), cache_size=64)
NOW = 1_800_000_000
NAMES = ["Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm", "x", ""]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=12,
)
policy_like = st.fixed_dictionaries(
    {"Statement": st.one_of(json_values, st.lists(st.fixed_dictionaries(
        {"Resource": json_values, "Condition": st.dictionaries(
            st.sampled_from(["DateLessThan", "DateGreaterThan", "IpAddress", "Other"]),
            st.one_of(json_values, st.fixed_dictionaries({"AWS:EpochTime": json_values}),
                      st.fixed_dictionaries({"AWS:SourceIp": json_values})))}), max_size=2))}
)  # fmt: skip
huge = st.sampled_from(["A" * 9000, "9" * 5000, "%" * 10000, "_" * 20000, "~-" * 6000])
value = st.one_of(st.text(max_size=60), st.binary(max_size=60).map(b64encode), huge)


def reason_of(request: SignedRequest) -> str:
    try:
        VERIFIER.verify(request, ("viewers",), NOW)
    except AccessDenied as exc:
        return exc.reason
    return "granted"


@FUZZ
@given(header=st.one_of(st.text(max_size=300), st.lists(
    st.tuples(st.sampled_from([f"CloudFront-{n}" for n in NAMES]), value), max_size=6
).map(lambda pairs: "; ".join(f"{k}={v}" for k, v in pairs))))  # fmt: skip
def test_any_cookie_header_is_denied_with_a_known_reason(header: str) -> None:
    """Random and hostile Cookie headers never raise anything but AccessDenied."""
    creds = credentials({}, cookie_parser(header))
    assert reason_of(SignedRequest("https://cdn.test/a.ts", "127.0.0.1", creds)) in REASONS


@FUZZ
@given(
    pairs=st.lists(st.tuples(st.sampled_from(NAMES), value), max_size=8), path=st.text(max_size=40)
)
def test_any_query_string_is_denied_with_a_known_reason(
    pairs: list[tuple[str, str]], path: str
) -> None:
    """Random signing parameters (duplicates, bad base64, huge values) only ever yield a reason."""
    query = "&".join(f"{k}={v}" for k, v in pairs)
    try:
        params, rest = split_query(query)
        creds = credentials(params, {})
    except AccessDenied as exc:
        assert exc.reason in REASONS
        return
    assert (
        reason_of(SignedRequest(f"https://cdn.test/{path}?{rest}", "127.0.0.1", creds)) in REASONS
    )


@FUZZ
@given(doc=policy_like, ip=st.sampled_from(["127.0.0.1", "::1", "", "garbage", "10.0.0.1"]))
def test_any_correctly_signed_policy_is_granted_or_denied_never_crashes(
    doc: object, ip: str
) -> None:
    """Even a policy our key really signed is parsed strictly: grant or a reason, no exception."""
    raw = json.dumps(doc).encode()
    signature = b64encode(signer("alice").sign(raw))
    creds = credentials(
        {"Policy": [b64encode(raw)], "Signature": [signature], "Key-Pair-Id": [key_id("alice")]}, {}
    )
    assert reason_of(SignedRequest("https://cdn.test/a.ts", ip, creds)) in (*REASONS, "granted")


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), policy_like.map(lambda d: json.dumps(d).encode())))
def test_policy_parser_returns_a_policy_or_malformed(raw: bytes) -> None:
    """Policy.from_json accepts or says malformed, for bytes and for JSON of the right shape."""
    try:
        assert isinstance(Policy.from_json(raw), Policy)
    except AccessDenied as exc:
        assert exc.reason == "malformed"


@FUZZ
@given(resource=st.text(max_size=60), url=st.text(max_size=60))
def test_resource_matching_never_raises(resource: str, url: str) -> None:
    """Any Resource pattern against any URL text answers True or False."""
    assert resource_matches(resource, url) in (True, False)
