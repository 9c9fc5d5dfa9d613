"""Which POP serves a viewer: region from the request, then nearest-first among healthy POPs."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from streaming.config import Edge, SteeringSettings

REGION_HEADER = "x-viewer-region"
COUNTRY_HEADER = "cloudfront-viewer-country"


def viewer_region(
    query: Mapping[str, str],
    headers: Mapping[str, str],
    settings: SteeringSettings,
    ip_country: str | None = None,
) -> str | None:
    """`?region=` wins, then `X-Viewer-Region`, then a country mapped through `countries`: the
    trusted country header, else `ip_country` (the GeoIP answer for the client address)."""
    for value in (query.get("region"), headers.get(REGION_HEADER)):
        if value:
            return value.strip().lower()
    country = (headers.get(COUNTRY_HEADER) or ip_country or "").strip().upper()
    return settings.countries.get(country)


def rank(pops: tuple[Edge, ...], region: str | None, settings: SteeringSettings) -> list[Edge]:
    """POPs in the viewer's region, then its configured neighbours, then the rest (config order)."""
    order = [region, *settings.nearest.get(region or "", ())] if region else []

    def distance(edge: Edge) -> int:
        return order.index(edge.region) if edge.region in order else len(order)

    return sorted(pops, key=distance)


def healthy_first(ranked: list[Edge], is_up: Callable[[str], bool]) -> list[Edge]:
    """Only the healthy POPs, nearest first; a dead POP is never handed to a viewer."""
    return [edge for edge in ranked if is_up(edge.pop)]
