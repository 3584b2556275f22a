"""The labelled synthetic data set behind bench/collusion_quality.py: seeded, labelled consistently."""

from collections import Counter

from tests.fixtures.collusion.generate import KINDS, generate


def test_the_same_seed_gives_the_same_data_set_and_another_seed_another() -> None:
    assert generate(14, 30) == generate(14, 30)
    assert generate(14, 30) != generate(15, 30)


def test_every_ring_names_bidders_of_its_project_and_every_kind_is_planted() -> None:
    rows = generate(14, 500)
    assert len(rows) == 500
    assert all(5 <= len(r["bids"]) <= 12 for r in rows)
    for row in rows:
        suppliers = {b["supplier"] for b in row["bids"]}
        for ring in row["rings"]:
            assert set(ring["suppliers"]) <= suppliers and len(ring["suppliers"]) >= 2
    kinds = Counter(ring["kind"] for row in rows for ring in row["rings"])
    assert set(kinds) == set(KINDS) and min(kinds.values()) >= 10
