"""Viewer region and POP ranking: nearest first, neighbours next, dead POPs never handed out."""

from __future__ import annotations

from steering.choose import healthy_first, rank, viewer_region
from streaming.config import Edge, SteeringSettings

SETTINGS = SteeringSettings(
    url="http://127.0.0.1:8400",
    nearest={"ap-southeast": ("eu-west", "us-east")},
    countries={"DE": "eu-west", "US": "us-east"},
)
POPS = (
    Edge(pop="iad", region="us-east", port=8201),
    Edge(pop="fra", region="eu-west", port=8202),
    Edge(pop="sin", region="ap-southeast", port=8203),
    Edge(pop="ams", region="eu-west", port=8204),
)


def test_region_from_query_then_header_then_country() -> None:
    """?region= beats X-Viewer-Region, which beats CloudFront-Viewer-Country via `countries`."""
    assert (
        viewer_region({"region": "EU-West"}, {"x-viewer-region": "us-east"}, SETTINGS) == "eu-west"
    )
    assert (
        viewer_region(
            {}, {"x-viewer-region": "us-east", "cloudfront-viewer-country": "DE"}, SETTINGS
        )
        == "us-east"
    )
    assert viewer_region({}, {"cloudfront-viewer-country": "de"}, SETTINGS) == "eu-west"
    assert viewer_region({}, {"cloudfront-viewer-country": "FR"}, SETTINGS) is None


def test_rank_puts_same_region_then_configured_neighbours_first() -> None:
    """A viewer's own region wins, then `nearest` in order, then the rest in config order."""
    assert [e.pop for e in rank(POPS, "eu-west", SETTINGS)] == ["fra", "ams", "iad", "sin"]
    assert [e.pop for e in rank(POPS, "ap-southeast", SETTINGS)] == ["sin", "fra", "ams", "iad"]
    assert [e.pop for e in rank(POPS, None, SETTINGS)] == ["iad", "fra", "sin", "ams"]


def test_healthy_first_drops_dead_pops() -> None:
    """A POP the monitor reports down is never returned, even when it is the nearest."""
    ranked = rank(POPS, "eu-west", SETTINGS)
    assert [e.pop for e in healthy_first(ranked, lambda pop: pop != "fra")] == ["ams", "iad", "sin"]


def test_address_country_is_used_only_without_a_better_hint() -> None:
    """The GeoIP country of the client address maps a region only when no header or query says."""
    assert viewer_region({}, {}, SETTINGS, ip_country="DE") == "eu-west"
    assert (
        viewer_region({}, {"cloudfront-viewer-country": "US"}, SETTINGS, ip_country="DE")
        == "us-east"
    )
    assert (
        viewer_region({"region": "ap-southeast"}, {}, SETTINGS, ip_country="DE") == "ap-southeast"
    )
    assert viewer_region({}, {}, SETTINGS, ip_country=None) is None
