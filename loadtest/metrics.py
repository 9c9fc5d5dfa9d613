"""Counters read from the edges' and origins' Prometheus /metrics before and after a run.

Viewers only see `X-Cache`; how many requests reached an origin is a server-side fact. Each
server's counters are scraped twice and the difference of the series below is reported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client.parser import text_string_to_metric_families

# Series that count requests an edge sent to an origin (or a shield), and requests an origin
# served: the first found on a server is used.
ORIGIN_FETCH_SERIES = ("edge_origin_fetches_total", "edge_origin_requests_total")
ORIGIN_SERVED_SERIES = ("origin_requests_total", "origin_http_requests_total")

Scrape = dict[str, float]  # "series{labels}" → value


def parse(text: str) -> Scrape:
    """Every counter sample of a Prometheus text page, keyed by name and sorted labels."""
    samples: Scrape = {}
    for family in text_string_to_metric_families(text):
        if family.type != "counter":
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def total(scrape: Scrape, series: tuple[str, ...]) -> float | None:
    """Sum of the first of `series` present in `scrape` over all its label sets."""
    for name in series:
        values = [v for k, v in scrape.items() if k.startswith(name + "{")]
        if values:
            return sum(values)
    return None


async def scrape_all(
    fetch: Callable[[str], Awaitable[str | None]], bases: tuple[str, ...]
) -> dict[str, Scrape]:
    """Scrape `<base>/metrics` of each server; servers without metrics are left out."""
    out: dict[str, Scrape] = {}
    for base in bases:
        text = await fetch(f"{base}/metrics")
        if text is not None:
            try:
                out[base] = parse(text)
            except ValueError:
                continue  # not a Prometheus page
    return out


def grown(
    before: dict[str, Scrape], after: dict[str, Scrape], series: tuple[str, ...]
) -> dict[str, float]:
    """Per server that exposes one of `series`, how much it grew during the run."""
    out: dict[str, float] = {}
    for base, scrape in after.items():
        end = total(scrape, series)
        if end is not None:
            out[base] = end - (total(before.get(base, {}), series) or 0.0)
    return out
