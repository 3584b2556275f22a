"""Indicators that fire when different suppliers' bids carry the same value of a field: the same
compiler (Art. 10(1): author, prepared_by, and the machine, MAC or CA dongle the document was made
on), the same agent (10(2)), the same project manager or contact (10(3)), the same document (10(4))."""

from collections import defaultdict
from collections.abc import Callable, Sequence

from services.signals.collusion.bids import (
    ITEM_COMPILED_BY_SAME,
    ITEM_IDENTICAL_OR_PATTERN,
    ITEM_SAME_HANDLER,
    ITEM_SAME_PERSONNEL,
    Bid,
    Indicator,
    matched,
)


def _normalised(value: str | None) -> str | None:
    """Case, spaces and MAC separators do not make two values different; blank is no value."""
    if value is None:
        return None
    out = "".join(value.split()).casefold().replace("-", ":")
    return out or None


def _same_value(
    kind: str, item: str, fields: tuple[str, ...], bids: Sequence[Bid], *, across_fields: bool = False
) -> list[Indicator]:
    """One indicator per (field, value) that at least two different suppliers' bids share; with
    `across_fields`, a value in any of the fields matches it in any other (one person named as one
    bid's manager and another's contact is still one person)."""
    by_value: dict[tuple[str, str], list[tuple[str, Bid]]] = defaultdict(list)
    for name in fields:
        for bid in bids:
            value = _normalised(getattr(bid, name))
            if value is not None:
                by_value[("*" if across_fields else name, value)].append((name, bid))
    fired = []
    for (_, _value), matches in sorted(by_value.items(), key=lambda kv: kv[0]):
        suppliers = sorted({b.supplier_id for _, b in matches})
        if len(suppliers) < 2:
            continue  # one supplier's own bids sharing a value are no collusion
        names = sorted({n for n, _ in matches})
        fired.append(
            Indicator(
                kind=kind,
                item=item,
                bids=tuple(sorted({b.bid_id for _, b in matches})),
                suppliers=tuple(suppliers),
                evidence={
                    "field": "/".join(names),
                    "value": getattr(matches[0][1], matches[0][0]),
                    "matched": [
                        matched(b, n, getattr(b, n)) for n, b in sorted(matches, key=lambda m: (m[1].bid_id, m[0]))
                    ],
                },
            )
        )
    return fired


def same_compiler(bids: Sequence[Bid]) -> list[Indicator]:
    """Art. 10(1): the documents name the same author or preparer."""
    return _same_value("same_compiler", ITEM_COMPILED_BY_SAME, ("author", "prepared_by"), bids, across_fields=True)


def same_machine(bids: Sequence[Bid]) -> list[Indicator]:
    """Art. 10(1): the documents were compiled on the same machine, network card or CA dongle (how
    e-bidding platforms detect 'compiled by the same hand')."""
    return _same_value("same_machine", ITEM_COMPILED_BY_SAME, ("machine_id", "mac", "dongle_serial"), bids)


def same_agent(bids: Sequence[Bid]) -> list[Indicator]:
    """Art. 10(2): the same organisation or person handled their bidding."""
    return _same_value("same_agent", ITEM_SAME_HANDLER, ("agent",), bids)


def same_personnel(bids: Sequence[Bid]) -> list[Indicator]:
    """Art. 10(3): the documents name the same project manager or contact."""
    return _same_value(
        "same_personnel", ITEM_SAME_PERSONNEL, ("project_manager", "contact_person"), bids, across_fields=True
    )


def identical_document(bids: Sequence[Bid]) -> list[Indicator]:
    """Art. 10(4): byte-identical documents (the same sha256)."""
    return _same_value("identical_document", ITEM_IDENTICAL_OR_PATTERN, ("sha256",), bids)


SHARED_VALUE_INDICATORS: tuple[Callable[[Sequence[Bid]], list[Indicator]], ...] = (
    same_compiler,
    same_machine,
    same_agent,
    same_personnel,
    identical_document,
)
