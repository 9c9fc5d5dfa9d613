"""`streaming report`: usage per distribution and POP from edge access logs, and a bill.

Reads the JSON-lines access logs the edges write (CloudFront standard-log field names) and
prints, per distribution and POP: requests, bytes, hit ratios by requests and by bytes, the
status mix and the top objects; then an estimated invoice from the config's price table:
egress per GB (GiB, 2^30 bytes) by the POP's region, requests per 10,000, and invalidation
paths beyond the monthly free allowance (read from the control plane's database).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from streaming import config as config_module
from streaming.config import Distribution, Pricing
from streaming.errors import ConfigError

GIB = 1024**3
HITS = ("Hit", "RefreshHit")


@dataclass
class Usage:
    """Counters for one (distribution, POP)."""

    requests: int = 0
    bytes: int = 0
    hits: int = 0
    misses: int = 0
    hit_bytes: int = 0
    miss_bytes: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    objects: Counter[str] = field(default_factory=Counter)
    object_bytes: Counter[str] = field(default_factory=Counter)

    def add(self, line: dict[str, object]) -> None:
        sent = int(line.get("sc-bytes", 0) or 0)  # type: ignore[call-overload]
        result = str(line.get("x-edge-result-type", ""))
        uri = str(line.get("cs-uri-stem", "-"))
        self.requests += 1
        self.bytes += sent
        self.statuses[int(line.get("sc-status", 0) or 0)] += 1  # type: ignore[call-overload]
        self.objects[uri] += 1
        self.object_bytes[uri] += sent
        if result in HITS:
            self.hits, self.hit_bytes = self.hits + 1, self.hit_bytes + sent
        elif result == "Miss":
            self.misses, self.miss_bytes = self.misses + 1, self.miss_bytes + sent

    @property
    def hit_ratio(self) -> float:
        cacheable = self.hits + self.misses  # errors and redirects excluded, as CloudFront does
        return self.hits / cacheable if cacheable else 0.0

    @property
    def byte_hit_ratio(self) -> float:
        cacheable = self.hit_bytes + self.miss_bytes
        return self.hit_bytes / cacheable if cacheable else 0.0


def read_logs(paths: list[Path], month: str | None) -> dict[tuple[str, str], Usage]:
    """Aggregate every line of every log; malformed lines are skipped and counted."""
    usage: dict[tuple[str, str], Usage] = {}
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read access log {path}: {exc.strerror}") from None
        for raw in lines:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(line, dict) or (
                month and not str(line.get("date", "")).startswith(month)
            ):
                continue
            key = (str(line.get("x-distribution-id", "-")), str(line.get("x-edge-location", "-")))
            usage.setdefault(key, Usage()).add(line)
    return usage


def invalidation_paths(dist: Distribution, month: str | None, data: Path | None = None) -> int:
    """Invalidation paths recorded by the control plane (this month, or ever)."""
    if dist.control is None:
        return 0
    db = (data or Path(dist.control.data_dir)) / "control.sqlite3"
    if not db.exists():
        return 0
    since = 0.0
    if month:
        since = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC).timestamp()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT paths FROM invalidations WHERE created_at >= ?", (since,))
        return sum(len(json.loads(row[0])) for row in rows)


@dataclass(frozen=True)
class Bill:
    lines: list[tuple[str, str, float]]  # (item, quantity, amount)

    @property
    def total(self) -> float:
        return sum(amount for _, _, amount in self.lines)


def bill(usage: dict[tuple[str, str], Usage], dist: Distribution, paths: int) -> Bill:
    """The invoice: egress by POP region, requests per 10k, invalidation paths past
    the free tier.
    """
    prices: Pricing = dist.pricing
    regions = {e.pop: e.region for e in dist.edges}
    by_region: Counter[str] = Counter()
    requests = 0
    for (_, pop), u in usage.items():
        by_region[regions.get(pop, "*")] += u.bytes
        requests += u.requests
    lines = []
    for region, sent in sorted(by_region.items()):
        rate = prices.egress_per_gb.get(region, prices.egress_per_gb.get("*", 0.0))
        lines.append(
            (f"Data transfer out, {region} (@{rate}/GB)", f"{sent / GIB:.6f} GB", sent / GIB * rate)
        )
    lines.append((
        f"Requests (@{prices.per_10k_requests}/10,000)", f"{requests:,}",
        requests / 10_000 * prices.per_10k_requests,
    ))  # fmt: skip
    billable = max(0, paths - prices.free_invalidation_paths)
    lines.append((
        f"Invalidation paths ({prices.free_invalidation_paths:,} free, "
        f"@{prices.invalidation_per_path})",
        f"{paths:,} ({billable:,} billable)", billable * prices.invalidation_per_path,
    ))  # fmt: skip
    return Bill(lines)


def summary(usage: dict[tuple[str, str], Usage], top: int) -> list[dict[str, object]]:
    return [
        {
            "distribution": dist, "pop": pop, "requests": u.requests, "bytes": u.bytes,
            "hit_ratio": round(u.hit_ratio, 4), "byte_hit_ratio": round(u.byte_hit_ratio, 4),
            "statuses": {str(s): n for s, n in sorted(u.statuses.items())},
            "top_objects": [
                {"uri": uri, "requests": n, "bytes": u.object_bytes[uri]}
                for uri, n in u.objects.most_common(top)
            ],
        }
        for (dist, pop), u in sorted(usage.items())
    ]  # fmt: skip


def run_report(
    path: Path, logs: list[Path], top: int, month: str | None, json_out: bool,
    control_data: Path | None = None,
) -> None:  # fmt: skip
    """Print the usage report and the estimated bill."""
    dist = config_module.load(path)
    if month is not None:
        try:
            datetime.strptime(month, "%Y-%m")
        except ValueError:
            raise ConfigError(f"--month must look like 2026-11, not {month!r}") from None
    usage = read_logs(logs, month)
    invoice = bill(usage, dist, invalidation_paths(dist, month, control_data))
    console = Console()
    if json_out:
        lines = [{"item": i, "quantity": q, "amount": round(a, 6)} for i, q, a in invoice.lines]
        out = {"usage": summary(usage, top), "bill": {"currency": dist.pricing.currency,
               "lines": lines, "total": round(invoice.total, 6)}}  # fmt: skip
        console.print_json(json.dumps(out))
        return
    table = Table(title=f"Usage ({month or 'all time'})")
    for column in (
        "distribution",
        "POP",
        "requests",
        "bytes",
        "hit % (req)",
        "hit % (bytes)",
        "statuses",
    ):
        table.add_column(
            column, justify="right" if column not in ("distribution", "POP") else "left"
        )
    for (name, pop), u in sorted(usage.items()):
        statuses = " ".join(f"{s}:{n}" for s, n in sorted(u.statuses.items()))
        table.add_row(name, pop, f"{u.requests:,}", f"{u.bytes:,}", f"{u.hit_ratio:.1%}",
                      f"{u.byte_hit_ratio:.1%}", statuses)  # fmt: skip
    console.print(table)
    for (name, pop), u in sorted(usage.items()):
        objects = Table(title=f"Top objects, {name} @ {pop}")
        for column in ("uri", "requests", "bytes"):
            objects.add_column(column)
        for uri, n in u.objects.most_common(top):
            objects.add_row(uri, f"{n:,}", f"{u.object_bytes[uri]:,}")
        console.print(objects)
    invoice_table = Table(title=f"Estimated bill ({dist.pricing.currency})")
    for column in ("item", "quantity", "amount"):
        invoice_table.add_column(column, justify="right" if column == "amount" else "left")
    for item, quantity, amount in invoice.lines:
        invoice_table.add_row(item, quantity, f"{amount:.4f}")
    invoice_table.add_row("[bold]Total[/]", "", f"[bold]{invoice.total:.4f}[/]")
    console.print(invoice_table)
