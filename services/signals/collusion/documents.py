"""Indicators on the documents' content: near-identical text (Art. 10(4) 异常一致, a simhash within
the department's Hamming distance) and documents mixed up with each other (10(5) 相互混装: one
supplier's document names another bidder's USCC)."""

from collections.abc import Sequence
from itertools import combinations

from services.signals.collusion.bids import ITEM_IDENTICAL_OR_PATTERN, ITEM_MIXED_UP, Bid, Indicator, matched


def hamming(a: str, b: str) -> int:
    """Bits in which two 64-bit simhashes (16 hex digits) differ."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def near_identical_text(bids: Sequence[Bid], *, max_hamming: int) -> list[Indicator]:
    """One indicator per pair of different suppliers' documents within `max_hamming` bits; the same
    file (equal sha256) is `identical_document`'s, not counted twice here."""
    fired = []
    for a, b in combinations(sorted(bids, key=lambda x: x.bid_id), 2):
        if a.supplier_id == b.supplier_id or a.simhash is None or b.simhash is None:
            continue
        if a.sha256 is not None and a.sha256 == b.sha256:
            continue
        distance = hamming(a.simhash, b.simhash)
        if distance <= max_hamming:
            fired.append(
                Indicator(
                    kind="near_identical_text",
                    item=ITEM_IDENTICAL_OR_PATTERN,
                    bids=(a.bid_id, b.bid_id),
                    suppliers=tuple(sorted({a.supplier_id, b.supplier_id})),
                    evidence={
                        "field": "document.simhash",
                        "simhashes": [a.simhash, b.simhash],
                        "hamming": distance,
                        "max_hamming": max_hamming,
                        "matched": [matched(x, "simhash", x.simhash) for x in (a, b)],
                    },
                )
            )
    return fired


def mixed_up_documents(bids: Sequence[Bid]) -> list[Indicator]:
    """A document that mentions the USCC of another supplier bidding in the same project. A mention of
    anyone else (the purchaser, a manufacturer) is no sign: only the project's other bidders count."""
    bidders = {b.supplier_id.upper(): b for b in bids}
    fired = []
    for bid in sorted(bids, key=lambda x: x.bid_id):
        for mentioned in sorted({m.strip().upper() for m in bid.mentions}):
            other = bidders.get(mentioned)
            if other is None or other.supplier_id == bid.supplier_id:
                continue
            fired.append(
                Indicator(
                    kind="mixed_up_documents",
                    item=ITEM_MIXED_UP,
                    bids=(bid.bid_id, other.bid_id),
                    suppliers=tuple(sorted({bid.supplier_id, other.supplier_id})),
                    evidence={
                        "field": "document.mentions",
                        "document_of": bid.supplier_id,
                        "mentions": other.supplier_id,
                        # The one document names the other bidder: the mention, and whom it names.
                        "matched": [
                            matched(bid, "mentions", other.supplier_id),
                            matched(other, "supplier_id", other.supplier_id),
                        ],
                    },
                )
            )
    return fired
