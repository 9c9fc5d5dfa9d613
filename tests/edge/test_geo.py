"""Geo restriction: countries from a MaxMind database we build ourselves, or a trusted header."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.geo import HeaderCountries, MaxMindCountries, check_country, lookup_for
from streaming.config import GeoRestriction
from streaming.errors import AccessDenied, ConfigError
from tests.factories import write_country_db


@pytest.fixture(scope="module")
def country_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_country_db(
        tmp_path_factory.mktemp("geo") / "countries.mmdb",
        {"192.0.2.0/24": "DE", "198.51.100.0/24": "US", "2001:db8::/32": "FR"},
    )


def test_maxmind_database_gives_the_iso_country(country_db: Path) -> None:
    """IPv4 and IPv6 clients resolve through the .mmdb; unknown and invalid addresses give None."""
    countries = MaxMindCountries(str(country_db))
    assert countries.country("192.0.2.10", {}) == "DE"
    assert countries.country("198.51.100.1", {}) == "US"
    assert countries.country("2001:db8::7", {}) == "FR"
    assert countries.country("203.0.113.1", {}) is None
    assert countries.country("not-an-ip", {}) is None
    countries.close()


def test_unreadable_database_fails_at_start_naming_the_field(tmp_path: Path) -> None:
    """A missing or corrupt database is a ConfigError about geo_restriction.database."""
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database")
    for path in (tmp_path / "missing.mmdb", junk):
        with pytest.raises(ConfigError, match="geo_restriction.database"):
            MaxMindCountries(str(path))


def test_allow_list_blocks_other_countries_and_unknown_ones_unless_allowed() -> None:
    """Allow mode: listed countries pass, others get geo_blocked, undetermined ones geo_unknown
    (served with allow_unknown)."""
    settings = GeoRestriction(mode="allow", countries=("DE",), country_header="x-country")
    check_country(settings, "DE")
    with pytest.raises(AccessDenied) as info:
        check_country(settings, "US")
    assert info.value.reason == "geo_blocked"
    with pytest.raises(AccessDenied) as info:
        check_country(settings, None)
    assert info.value.reason == "geo_unknown"
    check_country(settings.model_copy(update={"allow_unknown": True}), None)


def test_deny_list_blocks_listed_countries_only() -> None:
    """Deny mode: listed countries get geo_blocked, the rest pass."""
    settings = GeoRestriction(mode="deny", countries=("US",), country_header="x-country")
    check_country(settings, "DE")
    check_country(settings, None)
    with pytest.raises(AccessDenied, match="US"):
        check_country(settings, "US")


def test_trusted_header_wins_when_configured(country_db: Path) -> None:
    """With country_header set the country comes from that header, sanitised to two letters."""
    lookup = lookup_for(
        GeoRestriction(mode="deny", countries=("US",), country_header="CloudFront-Viewer-Country")
    )
    assert isinstance(lookup, HeaderCountries)
    assert lookup.country("192.0.2.1", {"cloudfront-viewer-country": "us"}) == "US"
    assert lookup.country("192.0.2.1", {"cloudfront-viewer-country": "USA"}) is None
    assert lookup_for(GeoRestriction()) is None
    assert isinstance(
        lookup_for(GeoRestriction(mode="allow", database=str(country_db))), MaxMindCountries
    )


def test_geo_restriction_without_a_source_is_a_config_error() -> None:
    """mode allow/deny needs a database or a header, caught when the config loads."""
    with pytest.raises(ValueError, match="database or a country_header"):
        GeoRestriction(mode="allow", countries=("DE",))
