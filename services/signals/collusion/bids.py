"""The view of a bid the indicators read, and what an indicator reports."""

from dataclasses import dataclass, field
from decimal import Decimal

from services.common.contracts.procurement import BidSubmitted

# Art. 10 of 洛财购〔2021〕12号, the items an indicator cites.
ITEM_COMPILED_BY_SAME = "洛阳办法第十条第1项: 不同供应商的投标文件由同一单位或者个人编制"
ITEM_SAME_HANDLER = "洛阳办法第十条第2项: 不同供应商委托同一单位或者个人办理投标事宜"
ITEM_SAME_PERSONNEL = "洛阳办法第十条第3项: 不同供应商的投标文件载明的项目管理成员或者联系人员为同一人"
ITEM_IDENTICAL_OR_PATTERN = "洛阳办法第十条第4项: 不同供应商的投标文件异常一致或者投标报价呈规律性差异"
ITEM_MIXED_UP = "洛阳办法第十条第5项: 不同供应商的投标文件相互混装"


@dataclass(frozen=True)
class Bid:
    """One supplier's bid in one project, as the indicators compare it."""

    bid_id: str
    supplier_id: str
    price: Decimal
    prepared_by: str | None = None
    author: str | None = None
    machine_id: str | None = None
    mac: str | None = None
    dongle_serial: str | None = None
    agent: str | None = None
    project_manager: str | None = None
    contact_person: str | None = None
    sha256: str | None = None
    simhash: str | None = None
    mentions: tuple[str, ...] = ()


def bid_of(bid_id: str, event: BidSubmitted) -> Bid:
    """The indicators' view of a `bid.submitted.v1` (its CloudEvents id names the bid)."""
    doc = event.document
    return Bid(
        bid_id=bid_id,
        supplier_id=event.supplier.id,
        price=event.price,
        prepared_by=event.prepared_by,
        author=doc.author if doc else None,
        machine_id=doc.machine_id if doc else None,
        mac=doc.mac if doc else None,
        dongle_serial=doc.dongle_serial if doc else None,
        agent=event.agent,
        project_manager=event.project_manager,
        contact_person=event.contact_person,
        sha256=doc.sha256.lower() if doc else None,
        simhash=doc.simhash.lower() if doc and doc.simhash else None,
        mentions=tuple(doc.mentions) if doc else (),
    )


def matched(bid: Bid, field_name: str, value: object) -> dict[str, object]:
    """One bid's part of an indicator's evidence: which bid, whose, which field matched and its value
    as the bid carried it — so the console can lay the bidders side by side (issue 14)."""
    return {"bid": bid.bid_id, "supplier": bid.supplier_id, "field": field_name, "value": value}


@dataclass(frozen=True)
class Indicator:
    """One indicator that fired: its kind, the item of Art. 10 it cites, the bids and suppliers it
    joins, and the evidence (which fields matched with which values; `evidence["matched"]` lists each
    bid's field and value, `matched()`)."""

    kind: str
    item: str
    bids: tuple[str, ...]
    suppliers: tuple[str, ...]
    evidence: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "item": self.item,
            "bids": list(self.bids),
            "suppliers": list(self.suppliers),
            "evidence": self.evidence,
        }
