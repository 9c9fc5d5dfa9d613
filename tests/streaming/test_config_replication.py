"""origin.replication and per-origin storage: the mode must fit where each region stores."""

from __future__ import annotations

from typing import Any

import pytest

from streaming.config import parse
from streaming.errors import ConfigError
from tests.factories import distribution_doc

S3 = {"backend": "s3", "bucket": "videos", "endpoint_url": "http://127.0.0.1:8333"}


def doc(
    mode: str | None = None, east: dict[str, Any] | None = None,
    west: dict[str, Any] | None = None, shared: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Two regions; `shared` is origin.storage, `east`/`west` their own storage tables."""
    origin: dict[str, Any] = {"storage": shared} if shared else {}
    if mode:
        origin["replication"] = {"mode": mode}
    d = distribution_doc(regions=("us-east", "eu-west"), origin=origin)
    for entry, own in zip(d["origins"], (east, west), strict=True):
        if own:
            entry["storage"] = own
    return d


@pytest.mark.parametrize(
    ("document", "mode"),
    [
        (doc(), "origin"),  # local disks: our outbox copies
        (doc(shared=S3), "none"),  # one bucket for every region: nothing to copy
        (doc(east=S3, west={**S3, "endpoint_url": "http://127.0.0.1:9333"}), "origin"),
        (doc("storage", east=S3, west={**S3, "bucket": "west"}), "storage"),
    ],
)
def test_auto_resolves_from_where_each_region_stores(document: dict[str, Any], mode: str) -> None:
    assert parse(document).replication_mode == mode


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (doc("storage"), "every origin needs backend = 's3'"),
        (doc("none", east=S3, west={**S3, "prefix": "west/"}), "must name the same bucket"),
        (doc("origin", shared=S3), "would copy every video onto itself"),
    ],
)
def test_a_mode_that_cannot_work_fails_at_start_with_the_reason(
    document: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ConfigError, match="origin.replication.mode") as raised:
        parse(document)
    assert reason in str(raised.value)


def test_back_off_base_above_its_cap_is_refused() -> None:
    document = distribution_doc(origin={"replication": {"backoff_base": 5, "backoff_cap": 1}})
    with pytest.raises(ConfigError, match="backoff_base"):
        parse(document)


def test_a_region_reads_its_own_storage_else_the_shared_one() -> None:
    dist = parse(doc(shared=S3, west={**S3, "bucket": "west"}))
    east, west = dist.origins
    assert dist.storage_of(east).bucket == "videos" and dist.storage_of(west).bucket == "west"
