"""From indicators to suspected groups: suppliers joined by any indicator form one group (the
connected components of the graph whose edges are the indicators), so a ring of four caught by
different indicators on different pairs is one case, and two rings in one project are two."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.common.policy import SignalRules
from services.signals.collusion.bids import Bid, Indicator
from services.signals.collusion.documents import mixed_up_documents, near_identical_text
from services.signals.collusion.prices import regular_prices
from services.signals.collusion.shared_values import SHARED_VALUE_INDICATORS


@dataclass(frozen=True)
class SuspectedGroup:
    """Suppliers of one project that the indicators join, with every indicator that joins them."""

    suppliers: tuple[str, ...]
    indicators: tuple[Indicator, ...]


def indicators(bids: Sequence[Bid], rules: SignalRules) -> list[Indicator]:
    """Every indicator that fires on one project's bids, under the region's thresholds."""
    fired: list[Indicator] = []
    for indicator in SHARED_VALUE_INDICATORS:
        fired += indicator(bids)
    fired += near_identical_text(bids, max_hamming=int(rules.simhash_max_hamming.value))
    fired += mixed_up_documents(bids)
    fired += regular_prices(
        bids,
        min_bids=int(rules.price_pattern_min_bids.value),
        tolerance=Decimal(str(rules.price_pattern_tolerance.value)),
    )
    return fired


def connected_groups(fired: Sequence[Indicator]) -> list[SuspectedGroup]:
    """Union-find over the suppliers each indicator names; groups in a stable order."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ind in fired:
        first = root(ind.suppliers[0])
        for other in ind.suppliers[1:]:
            parent[root(other)] = first
    members: dict[str, set[str]] = {}
    for supplier in parent:
        members.setdefault(root(supplier), set()).add(supplier)
    groups = []
    for suppliers in members.values():
        joined = tuple(i for i in fired if set(i.suppliers) <= suppliers)
        groups.append(SuspectedGroup(tuple(sorted(suppliers)), joined))
    return sorted(groups, key=lambda g: g.suppliers)


def suspected_groups(bids: Sequence[Bid], rules: SignalRules) -> list[SuspectedGroup]:
    """What a closed project's bids give: the suspected groups, each with its indicators."""
    return connected_groups(indicators(bids, rules))
