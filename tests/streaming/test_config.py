"""The distribution file: parsing, validation messages, defaults, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streaming.config import Distribution, Secret, load, parse
from streaming.errors import ConfigError
from tests.access import key_group
from tests.factories import distribution_doc

ROOT = Path(__file__).resolve().parents[2]


def test_demo_config_describes_two_regions_and_three_pops() -> None:
    """config/demo.toml is what `make demo` runs: 2 regional origins, 3 POPs, a default behavior."""
    dist = load(ROOT / "config" / "demo.toml")
    assert {o.region for o in dist.origins} >= {"us-east", "eu-west"}
    assert {e.pop for e in dist.edges} >= {"iad", "fra", "sin"}
    assert dist.behaviors[-1].path_pattern == "*"


def test_config_is_frozen() -> None:
    """The parsed config cannot be changed after start."""
    dist = parse(distribution_doc())
    with pytest.raises(ValidationError):
        dist.name = "other"  # type: ignore[misc]


def test_admin_token_never_prints() -> None:
    """Secrets stay out of reprs, so they stay out of logs and tracebacks."""
    dist = parse(distribution_doc())
    assert "test-admin-token" not in repr(dist)
    assert "test-admin-token" not in str(dist.admin_token)
    assert dist.admin_token.reveal() == "test-admin-token"
    assert dist.admin_token == Secret("test-admin-token")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("admin_token"), "admin_token: Field required"),
        (lambda d: d["origins"][0].update(url="ftp://x"), "origins.0.url"),
        (lambda d: d["edges"][0].update(port=70000), "edges.0.port"),
        (
            lambda d: d["behaviors"][0].update(target="nowhere"),
            "behaviors.0.target: unknown origin or group 'nowhere'",
        ),
        (lambda d: d["behaviors"].pop(), "the last behavior must be the default"),
        (lambda d: d["origin_groups"][0].update(members=["mars"]), "unknown origin 'mars'"),
        (lambda d: d["edges"].append(dict(d["edges"][0])), "edges: duplicate id 'iad'"),
        (
            lambda d: d["behaviors"][0].update(cache_key={"headers": ["Cookie"]}),
            "can never be part of the cache key",
        ),
        (
            lambda d: d["behaviors"][0].update(ttl={"min_ttl": 10, "max_ttl": 5}),
            "min_ttl must not exceed max_ttl",
        ),
        (lambda d: d.update(colour="blue"), "colour: Extra inputs are not permitted"),
        (
            lambda d: d["behaviors"][0].update(trusted_key_groups=["nope"]),
            "unknown key group 'nope'",
        ),
        (
            lambda d: (
                d.update(key_groups=[key_group("viewers", "a")], cors={"allowed_origins": ["*"]}),
                d["behaviors"][-1].update(trusted_key_groups=["viewers"]),
            ),
            "cors.allowed_origins: '*' with credentials",
        ),
        (
            lambda d: d.update(cors={"allowed_origins": ["http://player.test/path"]}),
            "cors: allowed_origins.0: 'http://player.test/path' is not a web origin",
        ),
    ],
)
def test_invalid_document_names_the_field_and_reason(change, message: str) -> None:  # type: ignore[no-untyped-def]
    """Every invalid document fails with one line naming the field and what is wrong."""
    doc = distribution_doc()
    change(doc)
    with pytest.raises(ConfigError) as info:
        parse(doc)
    assert message in info.value.detail
    assert "\n" not in info.value.detail


def test_missing_and_malformed_files_fail_clearly(tmp_path: Path) -> None:
    """A missing file or broken TOML is a ConfigError, not a traceback."""
    with pytest.raises(ConfigError, match="config file not found"):
        load(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(broken)


def test_unknown_region_and_pop_list_the_known_ones() -> None:
    """Asking for a region or POP that is not in the file says which ones exist."""
    dist = parse(distribution_doc())
    with pytest.raises(ConfigError, match="unknown region 'mars'.*us-east"):
        dist.origin_by_region("mars")
    with pytest.raises(ConfigError, match="unknown POP 'xyz'.*iad"):
        dist.edge_by_pop("xyz")


def test_group_members_follow_config_order() -> None:
    """A behavior target resolves to its origins: a group's members or a single origin."""
    dist: Distribution = parse(distribution_doc(regions=("us-east", "eu-west")))
    assert [o.id for o in dist.group_members("all")] == ["us-east", "eu-west"]
    assert [o.id for o in dist.group_members("eu-west")] == ["eu-west"]
