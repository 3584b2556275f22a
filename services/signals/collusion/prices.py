"""Art. 10(4) 投标报价呈规律性差异: prices of different suppliers in a regular pattern — at least
`min_bids` bids, next to each other in price order, at a constant difference or a constant ratio
within the department's tolerance. Two prices that differ by a round sum are no pattern."""

from collections.abc import Sequence
from decimal import Decimal

from services.signals.collusion.bids import ITEM_IDENTICAL_OR_PATTERN, Bid, Indicator, matched


def _steps(prices: list[Decimal], pattern: str) -> list[Decimal]:
    """The difference between neighbours, or the ratio's excess over 1 (a constant ratio of 1.02 has
    steps of 0.02): either way the pattern is a run of equal steps."""
    if pattern == "difference":
        return [prices[k + 1] - prices[k] for k in range(len(prices) - 1)]
    return [prices[k + 1] / prices[k] - 1 if prices[k] > 0 else Decimal(0) for k in range(len(prices) - 1)]


def _runs(steps: list[Decimal], tolerance: Decimal) -> list[tuple[int, int]]:
    """Maximal runs [i, j] of steps each within `tolerance` (a fraction of the run's first step) of
    it; a zero step (equal prices) starts none."""
    runs = []
    i = 0
    while i < len(steps):
        first = steps[i]
        j = i
        while first > 0 and j + 1 < len(steps) and abs(steps[j + 1] - first) <= tolerance * first:
            j += 1
        runs.append((i, j))
        i = j + 1 if j > i else i + 1
    return runs


def regular_prices(bids: Sequence[Bid], *, min_bids: int, tolerance: Decimal) -> list[Indicator]:
    """The maximal runs of neighbouring prices (one bid per supplier, its lowest) at a constant
    difference or a constant ratio; a run must hold `min_bids` bids or more."""
    lowest: dict[str, Bid] = {}
    for bid in bids:
        if bid.supplier_id not in lowest or bid.price < lowest[bid.supplier_id].price:
            lowest[bid.supplier_id] = bid
    ordered = sorted(lowest.values(), key=lambda b: (b.price, b.bid_id))
    prices = [b.price for b in ordered]
    fired: list[Indicator] = []
    seen: set[tuple[str, ...]] = set()
    for pattern in ("difference", "ratio"):
        for i, j in _runs(_steps(prices, pattern), tolerance):
            run = ordered[i : j + 2]  # steps i..j join bids i..j+1
            key = tuple(b.bid_id for b in run)
            if len(run) >= min_bids and key not in seen:
                seen.add(key)
                fired.append(_indicator(pattern, run, tolerance))
    return fired


def _indicator(pattern: str, run: list[Bid], tolerance: Decimal) -> Indicator:
    prices = [b.price for b in run]
    steps = [prices[k + 1] - prices[k] for k in range(len(prices) - 1)]
    evidence: dict[str, object] = {
        "field": "price",
        "pattern": pattern,
        "prices": [str(p) for p in prices],
        "tolerance": str(tolerance),
        "matched": [matched(b, "price", str(b.price)) for b in run],
    }
    if pattern == "difference":
        evidence["differences"] = [str(s) for s in steps]
    else:
        evidence["ratios"] = [str(round(prices[k + 1] / prices[k], 6)) for k in range(len(prices) - 1)]
    return Indicator(
        kind="regular_prices",
        item=ITEM_IDENTICAL_OR_PATTERN,
        bids=tuple(b.bid_id for b in run),
        suppliers=tuple(sorted(b.supplier_id for b in run)),
        evidence=evidence,
    )
