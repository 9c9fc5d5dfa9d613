"""The reconcile rule, pure: who pushes what to whom, and what a peer's inventory may hold."""

from __future__ import annotations

import pytest

from origin.inventory import Inventory, plan
from origin.outbox import Action

A, B, C, D = (f"v{c * 16}" for c in "abcd")


def inventory(videos: dict[str, str] | None = None, deleted: set[str] | None = None) -> Inventory:
    return Inventory(videos or {}, frozenset(deleted or set()))


def test_a_peer_is_owed_what_it_lacks_and_the_deletes_it_missed() -> None:
    mine = inventory({A: "1", B: "2"}, {C})
    theirs = inventory({B: "2", C: "3"})
    assert plan(mine, frozenset(), theirs, copies=True) == [(A, Action.PUBLISH), (C, Action.DELETE)]


def test_only_the_packaging_region_corrects_a_copy_that_differs() -> None:
    """Both regions see the digests differ; only the one that packaged the video pushes, or the
    two would overwrite each other forever."""
    mine, theirs = inventory({A: "ours"}), inventory({A: "theirs"})
    assert plan(mine, frozenset({A}), theirs, copies=True) == [(A, Action.PUBLISH)]
    assert plan(mine, frozenset(), theirs, copies=True) == []


def test_a_tombstone_anywhere_wins_over_a_copy() -> None:
    """A video the peer deleted is not pushed back to it, whoever still holds it."""
    mine, theirs = inventory({A: "1"}), inventory({}, {A})
    assert plan(mine, frozenset({A}), theirs, copies=True) == []


def test_with_one_shared_bucket_only_deletes_are_owed() -> None:
    mine, theirs = inventory({A: "1"}, {B}), inventory({B: "2"})
    assert plan(mine, frozenset({A}), theirs, copies=False) == [(B, Action.DELETE)]


@pytest.mark.parametrize(
    "answer",
    [[], {"videos": []}, {"videos": {}, "tombstones": "x"}, {"videos": {"../x": "1"},
     "tombstones": []}, {"videos": {A: 1}, "tombstones": []}, {"videos": {}, "tombstones": [1]}],
)  # fmt: skip
def test_a_malformed_inventory_is_refused(answer: object) -> None:
    with pytest.raises(ValueError):
        Inventory.parse(answer)


def test_an_inventory_parses_back_from_its_public_form() -> None:
    listed = inventory({A: "1"}, {B})
    assert Inventory.parse(listed.public()) == listed
