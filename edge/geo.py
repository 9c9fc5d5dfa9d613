"""Geo restriction: the viewer's country from a MaxMind database or a trusted header, then the
distribution's allow or deny list.

The header counts only from `trusted_proxies` (edge.forwarded drops it from anyone else), and
the database is asked about the resolved client address. A country that cannot be determined
is refused by an allow list unless `allow_unknown` (CloudFront serves it; an allow list that any
unmapped or header-less request slips past is not one) and served by a deny list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from streaming.config import GeoRestriction
from streaming.errors import AccessDenied
from streaming.geoip import MaxMindCountries

__all__ = ["CountryLookup", "HeaderCountries", "MaxMindCountries", "check_country", "lookup_for"]


class CountryLookup(Protocol):
    """Where the country of a viewer comes from."""

    def country(self, client_ip: str, headers: Mapping[str, str]) -> str | None: ...


class HeaderCountries:
    """The country a trusted front proxy put in a header (e.g. CloudFront-Viewer-Country)."""

    def __init__(self, header: str) -> None:
        self._header = header.lower()

    def country(self, client_ip: str, headers: Mapping[str, str]) -> str | None:
        value = headers.get(self._header, "").strip().upper()
        return value if len(value) == 2 and value.isalpha() else None


def lookup_for(settings: GeoRestriction) -> CountryLookup | None:
    """The configured country source; None when geo restriction is off."""
    if settings.mode == "none":
        return None
    if settings.country_header:
        return HeaderCountries(settings.country_header)
    return MaxMindCountries(settings.database)


def check_country(settings: GeoRestriction, country: str | None) -> None:
    """Raise AccessDenied("geo_blocked") when the country is outside the allow list
    or on the deny list, and ("geo_unknown") for an unknown one under an allow list.
    """
    if settings.mode == "none":
        return
    if country is None:
        if settings.mode == "allow" and not settings.allow_unknown:
            raise AccessDenied(
                "geo_unknown", "the viewer's country could not be determined; it is required here"
            )
        return
    listed = country in settings.countries
    if (settings.mode == "allow" and not listed) or (settings.mode == "deny" and listed):
        raise AccessDenied("geo_blocked", f"content is not available in {country}")
