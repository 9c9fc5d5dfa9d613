"""`streaming keys generate` and `streaming sign url|cookies|token`, verified by the
edge's rules.
"""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from streaming import bearer, keys
from streaming.config import KeyGroup, PublicKey
from streaming.signing import Verifier
from tests.access import request_for

runner = CliRunner()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Verifier]:
    """A key pair made by the CLI, and a verifier trusting its public key file."""
    out = tmp_path_factory.mktemp("keys")
    result = runner.invoke(app, ["keys", "generate", "--out", str(out), "--name", "demo"])
    assert result.exit_code == 0, result.output
    key_id = result.output.split("key pair id: ")[1].split()[0]
    group = KeyGroup(
        id="viewers", keys=(PublicKey(id=key_id, public_key=str(out / "demo.pub.pem")),)
    )
    return out / "demo.pem", key_id, Verifier(keys.KeyRing.from_config((group,)))


def test_generate_writes_a_0600_private_key_and_refuses_to_overwrite(
    pair: tuple[Path, str, Verifier],
) -> None:
    """The private PEM is owner-only; a second run without --force fails and keeps the key."""
    private, key_id, _ = pair
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    before = private.read_bytes()
    again = runner.invoke(app, ["keys", "generate", "--out", str(private.parent), "--name", "demo"])
    assert again.exit_code != 0 and "--force" in again.output
    assert private.read_bytes() == before
    assert keys.key_id(keys.load_private_key(private).public_key()) == key_id


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--hash", "SHA256"],
        ["--resource", "https://cdn.demo.test/hls/*"],
        ["--ip", "127.0.0.1"],
    ],
)
def test_signed_url_from_the_cli_verifies(
    pair: tuple[Path, str, Verifier], extra: list[str]
) -> None:
    """Canned, SHA-256 and custom (resource, IP) URLs from `sign url` pass the verifier."""
    private, key_id, verifier = pair
    target = "https://cdn.demo.test/hls/v1/master.m3u8"
    result = runner.invoke(
        app, ["sign", "url", target, "--key", str(private), "--expires-in", "60", *extra]
    )
    assert result.exit_code == 0, result.output
    grant = verifier.verify(request_for(result.output.strip()), ("viewers",), time.time())
    assert grant.key_pair_id == key_id and grant.custom == bool(extra and extra[0] != "--hash")


def test_signed_cookies_from_the_cli_verify(pair: tuple[Path, str, Verifier]) -> None:
    """`sign cookies` prints a Cookie header whose cookies open every URL under the resource."""
    private, _, verifier = pair
    result = runner.invoke(
        app, ["sign", "cookies", "--resource", "*://*/hls/v1/*", "--key", str(private)]
    )
    header = result.output.strip().removeprefix("Cookie: ")
    cookies = dict(part.split("=", 1) for part in header.split("; "))
    verifier.verify(
        request_for("http://127.0.0.1:8201/hls/v1/a.ts", cookies=cookies), ("viewers",), time.time()
    )


def test_token_from_the_cli_verifies(pair: tuple[Path, str, Verifier]) -> None:
    """`sign token` prints an RS256 JWT whose kid is the key pair id."""
    private, key_id, verifier = pair
    token = runner.invoke(app, ["sign", "token", "--key", str(private)]).output.strip()
    assert (
        bearer.verify(token, verifier.ring, ("viewers",), "https://x/y", time.time()).key_pair_id
        == key_id
    )


def test_bad_arguments_are_reported_not_raised(
    pair: tuple[Path, str, Verifier], tmp_path: Path
) -> None:
    """A bad hash, IP or key type is a usage error; a missing key file is one clear line."""
    private = pair[0]
    assert (
        runner.invoke(
            app, ["sign", "url", "https://x/", "--key", str(private), "--hash", "MD5"]
        ).exit_code
        == 2
    )
    assert (
        runner.invoke(
            app, ["sign", "url", "https://x/", "--key", str(private), "--ip", "nope"]
        ).exit_code
        == 2
    )
    assert (
        runner.invoke(app, ["keys", "generate", "--out", str(tmp_path), "--type", "dsa"]).exit_code
        == 2
    )
    missing = runner.invoke(app, ["sign", "url", "https://x/", "--key", str(tmp_path / "none.pem")])
    assert missing.exit_code != 0 and "cannot read private key" in str(missing.exception)


def test_demo_content_is_private_by_default_except_posters() -> None:
    """config/demo.toml: playlists, segments, keys and live need the viewers' keys;
    origins use OAC.
    """
    from edge.classify import classify, routes
    from streaming.config import load

    dist = load(Path(__file__).resolve().parents[2] / "config" / "demo.toml")
    table = routes(dist.behaviors)
    for path in (
        "/hls/v1/master.m3u8",
        "/hls/v1/720p/seg_00001.ts",
        "/drm/v1/key",
        "/live/news/master.m3u8",
    ):
        assert classify(path, table).behavior.trusted_key_groups == ("viewers",), path
    assert classify("/hls/v1/poster.jpg", table).behavior.trusted_key_groups == ()
    assert all(origin.access_secret is not None for origin in dist.origins)


def test_demo_signing_key_is_generated_once_beside_its_public_key(tmp_path: Path) -> None:
    """The demo creates <name>.pem (0600) beside the configured <name>.pub.pem, then reuses it."""
    from cli.keys import demo_signing_key
    from tests.factories import distribution

    public = tmp_path / "keys" / "demo.pub.pem"
    dist = distribution(
        key_groups=[{"id": "viewers", "keys": [{"id": "KDEMO", "public_key": str(public)}]}]
    )
    first = demo_signing_key(dist)
    assert first == {
        "key_pair_id": "KDEMO",
        "private_key": str(tmp_path / "keys" / "demo.pem"),
        "hash": "SHA1",
    }
    assert stat.S_IMODE((tmp_path / "keys" / "demo.pem").stat().st_mode) == 0o600
    pem = public.read_text()
    assert demo_signing_key(dist) == first and public.read_text() == pem
    public.unlink()  # a lost public key is derived again from the private one
    assert demo_signing_key(dist) == first and public.read_text() == pem
    assert demo_signing_key(distribution()) is None
