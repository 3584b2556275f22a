"""Precision and recall of the collusion indicators (issue 14) on the labelled synthetic data set of
tests/fixtures/collusion/generate.py (seeded; regenerated in memory, the same every run).

    .venv/bin/python -m bench.collusion_quality [--seed 14] [--projects 500]

Per indicator: a firing (the suppliers one indicator joins in one project) is right when all its
suppliers belong to one planted ring of that project; a planted ring of the indicator's kind is
found when the indicator's right firings cover all its suppliers. Overall, on the groups (connected
components) that would each open a task: a group is right when its suppliers all belong to one
ring; a ring is found when one group holds all its suppliers. Thresholds are Luoyang's policy."""

import argparse
from collections import Counter
from datetime import date
from decimal import Decimal

from bench.common import out
from services.common.policy import SignalRules, policy_for
from services.signals.collusion.bids import Bid
from services.signals.collusion.groups import connected_groups, indicators
from tests.fixtures.collusion.generate import KINDS, generate


def bids_of(row: dict) -> list[Bid]:
    return [
        Bid(
            bid_id=b["bid_id"],
            supplier_id=b["supplier"],
            price=Decimal(b["price"]),
            prepared_by=b["prepared_by"],
            author=b["author"],
            machine_id=b["machine_id"],
            mac=b["mac"],
            dongle_serial=b["dongle_serial"],
            agent=b["agent"],
            project_manager=b["project_manager"],
            contact_person=b["contact_person"],
            sha256=b["sha256"],
            simhash=b["simhash"],
            mentions=tuple(b["mentions"]),
        )
        for b in row["bids"]
    ]


def _within_a_ring(suppliers: set[str], rings: list[dict]) -> dict | None:
    return next((r for r in rings if suppliers <= set(r["suppliers"])), None)


def measure(rows: list[dict], rules: SignalRules) -> dict[str, dict[str, int]]:
    """Counts per indicator kind and 'overall': fired, right, rings, found."""
    counts: dict[str, Counter[str]] = {k: Counter() for k in (*KINDS, "overall")}
    for row in rows:
        fired = indicators(bids_of(row), rules)
        rings = row["rings"]
        for kind in KINDS:
            mine = [i for i in fired if i.kind == kind]
            right = [i for i in mine if _within_a_ring(set(i.suppliers), rings)]
            counts[kind]["fired"] += len(mine)
            counts[kind]["right"] += len(right)
            for ring in (r for r in rings if r["kind"] == kind):
                counts[kind]["rings"] += 1
                covered = {s for i in right if set(i.suppliers) <= set(ring["suppliers"]) for s in i.suppliers}
                counts[kind]["found"] += covered >= set(ring["suppliers"])
        groups = connected_groups(fired)
        counts["overall"]["fired"] += len(groups)
        counts["overall"]["right"] += sum(1 for g in groups if _within_a_ring(set(g.suppliers), rings))
        counts["overall"]["rings"] += len(rings)
        counts["overall"]["found"] += sum(
            1 for r in rings if any(set(r["suppliers"]) <= set(g.suppliers) for g in groups)
        )
    return {k: dict(c) for k, c in counts.items()}


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "  n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description="precision and recall of the collusion indicators")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--projects", type=int, default=500)
    args = parser.parse_args()
    rules = policy_for("410300", date(2022, 6, 1)).signals
    assert rules is not None, "Luoyang's policy sets the signal thresholds"
    rows = generate(args.seed, args.projects)
    bids = sum(len(r["bids"]) for r in rows)
    out(f"data set: seed {args.seed}, {len(rows)} projects, {bids} bids, {sum(len(r['rings']) for r in rows)} rings")
    out(f"{'indicator':<22}{'fired':>7}{'right':>7}{'precision':>11}{'rings':>7}{'found':>7}{'recall':>8}")
    for kind, c in measure(rows, rules).items():
        out(
            f"{kind:<22}{c.get('fired', 0):>7}{c.get('right', 0):>7}{_ratio(c.get('right', 0), c.get('fired', 0)):>11}"
            f"{c.get('rings', 0):>7}{c.get('found', 0):>7}{_ratio(c.get('found', 0), c.get('rings', 0)):>8}"
        )


if __name__ == "__main__":
    main()
