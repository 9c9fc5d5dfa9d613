"""Reading origin-request counters from Prometheus pages."""

from __future__ import annotations

from loadtest.metrics import ORIGIN_FETCH_SERIES, ORIGIN_SERVED_SERIES, grown, parse

PAGE = """# HELP edge_origin_fetches_total Origin fetches.
# TYPE edge_origin_fetches_total counter
edge_origin_fetches_total{origin="us-east",status="200"} 7.0
edge_origin_fetches_total{origin="eu-west",status="200"} 2.0
# HELP edge_cache_bytes Bytes.
# TYPE edge_cache_bytes gauge
edge_cache_bytes{tier="memory"} 1234.0
"""


def test_counters_are_parsed_with_their_labels_and_gauges_ignored() -> None:
    """Only counter samples are kept, keyed by name and sorted labels."""
    scrape = parse(PAGE)
    assert scrape == {
        "edge_origin_fetches_total{origin=us-east,status=200}": 7.0,
        "edge_origin_fetches_total{origin=eu-west,status=200}": 2.0,
    }


def test_growth_is_the_difference_summed_over_labels() -> None:
    """A server's origin requests during a run are after − before over every label set."""
    before = {"http://e": parse(PAGE)}
    after = {"http://e": parse(PAGE.replace(" 7.0", " 12.0")), "http://o": {}}
    assert grown(before, after, ORIGIN_FETCH_SERIES) == {"http://e": 5.0}
    assert grown(before, after, ORIGIN_SERVED_SERIES) == {}
