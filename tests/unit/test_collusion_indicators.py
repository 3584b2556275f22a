"""Issue 14: each collusion indicator fires on what Art. 10 names and stays quiet on near misses."""

from datetime import date
from decimal import Decimal

from services.common.contracts.procurement import BidSubmitted
from services.common.policy import policy_for
from services.signals.collusion.bids import ITEM_COMPILED_BY_SAME, ITEM_MIXED_UP, Bid, bid_of
from services.signals.collusion.documents import hamming, mixed_up_documents, near_identical_text
from services.signals.collusion.groups import suspected_groups
from services.signals.collusion.prices import regular_prices
from services.signals.collusion.shared_values import (
    identical_document,
    same_agent,
    same_compiler,
    same_machine,
    same_personnel,
)

RULES = policy_for("410300", date(2022, 6, 1)).signals
assert RULES is not None


def bid(n: int, price: str = "1000000", **kw: object) -> Bid:
    return Bid(bid_id=f"b{n}", supplier_id=f"S{n}", price=Decimal(price), **kw)  # type: ignore[arg-type]


def test_same_author_fires_citing_item_1_with_the_field_and_bids() -> None:
    fired = same_compiler([bid(1, author="张三"), bid(2, author=" 张三 "), bid(3, author="李四")])
    assert len(fired) == 1
    assert fired[0].item == ITEM_COMPILED_BY_SAME
    assert fired[0].bids == ("b1", "b2") and fired[0].suppliers == ("S1", "S2")
    assert fired[0].evidence["field"] == "author"


def test_prepared_by_and_each_machine_field_fire() -> None:
    assert same_compiler([bid(1, prepared_by="A公司"), bid(2, prepared_by="a公司")])
    for field in ("machine_id", "mac", "dongle_serial"):
        fired = same_machine([bid(1, **{field: "X-1"}), bid(2, **{field: "x:1"}), bid(3)])
        assert [i.evidence["field"] for i in fired] == [field]


def test_one_suppliers_own_bids_and_blank_values_do_not_fire() -> None:
    own = [Bid("b1", "S1", Decimal(1), machine_id="M"), Bid("b2", "S1", Decimal(2), machine_id="M")]
    assert same_machine(own) == []
    assert same_compiler([bid(1, author=" "), bid(2, author=" ")]) == []
    assert same_machine([bid(1, machine_id="M1"), bid(2, machine_id="M2")]) == []


def test_agent_and_personnel() -> None:
    assert same_agent([bid(1, agent="代理甲"), bid(2, agent="代理甲")])[0].item.startswith("洛阳办法第十条第2项")
    named = [bid(1, project_manager="王五"), bid(2, contact_person="王五"), bid(3, contact_person="赵六")]
    fired = same_personnel(named)
    # One person named as one bid's manager and another's contact is the same person (10(3)).
    assert len(fired) == 1 and fired[0].suppliers == ("S1", "S2")
    assert fired[0].evidence["field"] == "contact_person/project_manager"
    assert fired[0].item.startswith("洛阳办法第十条第3项")


def test_identical_document() -> None:
    h = "a" * 64
    assert identical_document([bid(1, sha256=h), bid(2, sha256=h)])[0].evidence == {
        "field": "sha256",
        "value": h,
        "matched": [
            {"bid": "b1", "supplier": "S1", "field": "sha256", "value": h},
            {"bid": "b2", "supplier": "S2", "field": "sha256", "value": h},
        ],
    }
    assert identical_document([bid(1, sha256=h), bid(2, sha256="b" * 64)]) == []


def test_simhash_within_and_just_beyond_the_policy_distance() -> None:
    limit = int(RULES.simhash_max_hamming.value)
    base = 0x0123456789ABCDEF
    within = f"{base ^ ((1 << limit) - 1):016x}"  # `limit` bits flipped
    beyond = f"{base ^ ((1 << (limit + 1)) - 1):016x}"
    assert hamming(f"{base:016x}", within) == limit
    fired = near_identical_text([bid(1, simhash=f"{base:016x}"), bid(2, simhash=within)], max_hamming=limit)
    assert len(fired) == 1 and fired[0].evidence["hamming"] == limit
    assert near_identical_text([bid(1, simhash=f"{base:016x}"), bid(2, simhash=beyond)], max_hamming=limit) == []


def test_same_file_is_not_also_counted_as_near_identical_text() -> None:
    same = {"sha256": "c" * 64, "simhash": "0" * 16}
    assert near_identical_text([bid(1, **same), bid(2, **same)], max_hamming=3) == []


def test_a_document_naming_another_bidders_uscc_is_mixed_up() -> None:
    fired = mixed_up_documents([bid(1, mentions=("s2",)), bid(2), bid(3)])
    assert len(fired) == 1 and fired[0].item == ITEM_MIXED_UP and fired[0].suppliers == ("S1", "S2")
    # Naming someone who is not bidding (the purchaser, a manufacturer), or itself, is no sign.
    assert mixed_up_documents([bid(1, mentions=("PURCHASER", "S1")), bid(2)]) == []


def test_three_prices_at_a_constant_difference_or_ratio_are_a_pattern() -> None:
    diff = [bid(1, "1000000"), bid(2, "1030000"), bid(3, "1060000"), bid(4, "1234567")]
    fired = regular_prices(diff, min_bids=3, tolerance=Decimal("0.001"))
    assert [(i.bids, i.evidence["pattern"]) for i in fired] == [(("b1", "b2", "b3"), "difference")]
    ratio = [bid(1, "1000000"), bid(2, "1020000"), bid(3, "1040400"), bid(4, "900001")]
    fired = regular_prices(ratio, min_bids=3, tolerance=Decimal("0.001"))
    assert [(i.bids, i.evidence["pattern"]) for i in fired] == [(("b1", "b2", "b3"), "ratio")]


def test_near_misses_are_no_pattern() -> None:
    tol = Decimal("0.001")
    # Two prices that differ by a round 1,000: a pattern needs three bids.
    assert regular_prices([bid(1, "500000"), bid(2, "501000")], min_bids=3, tolerance=tol) == []
    # Three prices with steps 30,000 and 30,100: beyond a tolerance of 0.1 % of the step.
    assert regular_prices([bid(1, "1000000"), bid(2, "1030000"), bid(3, "1060100")], min_bids=3, tolerance=tol) == []
    # A constant step between bids that are not neighbours in price (another bid lies between).
    spread = [bid(1, "1000000"), bid(2, "1012345"), bid(3, "1030000"), bid(4, "1060000")]
    assert regular_prices(spread, min_bids=3, tolerance=tol) == []
    # Equal prices are no step.
    assert regular_prices([bid(n, "700000") for n in (1, 2, 3)], min_bids=3, tolerance=tol) == []


def test_groups_are_connected_components_of_the_indicators() -> None:
    bids = [
        bid(1, "1000000", machine_id="M"),
        bid(2, "1071234", machine_id="M", agent="代理"),
        bid(3, "1190007", agent="代理"),
        bid(4, "1215500", author="甲"),
        bid(5, "1389001", author="甲"),
        bid(6, "1402020"),
    ]
    groups = suspected_groups(bids, RULES)
    assert [g.suppliers for g in groups] == [("S1", "S2", "S3"), ("S4", "S5")]
    assert {i.kind for i in groups[0].indicators} == {"same_machine", "same_agent"}


def test_an_honest_project_raises_nothing() -> None:
    # Same rounding, same IP (a shared office building), documents that name the purchaser.
    bids = [bid(n, p, mentions=("PURCHASER",)) for n, p in enumerate(["980000", "1013000", "1051000", "1100000"])]
    assert suspected_groups(bids, RULES) == []


def test_bid_of_reads_the_contract() -> None:
    event = BidSubmitted.model_validate(
        {
            "project": {"code": "P-1", "name": "项目"},
            "region": "410302",
            "purchaser": {"id": "PUR", "name": "采购人"},
            "at": "2022-05-01T09:00:00+08:00",
            "supplier": {"id": "S1", "name": "甲"},
            "price": "1000.00",
            "document_fingerprint": "fp",
            "agent": "代理",
            "document": {"sha256": "A" * 64, "simhash": "00ff" * 4, "machine_id": "M", "mentions": ["S2"]},
        }
    )
    view = bid_of("evt-1", event)
    assert (view.bid_id, view.supplier_id, view.machine_id, view.sha256, view.mentions) == (
        "evt-1",
        "S1",
        "M",
        "a" * 64,
        ("S2",),
    )


def test_the_evidence_names_each_bids_field_and_value_as_the_bid_carried_it() -> None:
    """Issue 14's side-by-side view: per bid, which field matched and its own value (a manager of one
    bid and the contact of another are one person, each on its own field)."""
    fired = same_personnel([bid(2, contact_person="王五 "), bid(1, project_manager="王五"), bid(3, agent="x")])
    assert fired[0].evidence["matched"] == [
        {"bid": "b1", "supplier": "S1", "field": "project_manager", "value": "王五"},
        {"bid": "b2", "supplier": "S2", "field": "contact_person", "value": "王五 "},
    ]
    machine = same_machine([bid(1, mac="AA-BB"), bid(2, mac="aa:bb")])[0].evidence["matched"]
    assert [(m["supplier"], m["field"], m["value"]) for m in machine] == [
        ("S1", "mac", "AA-BB"),
        ("S2", "mac", "aa:bb"),
    ]
    prices = regular_prices(
        [bid(1, "1000000"), bid(2, "1030000"), bid(3, "1060000")], min_bids=3, tolerance=Decimal("0.001")
    )
    assert [(m["supplier"], m["field"], m["value"]) for m in prices[0].evidence["matched"]] == [
        ("S1", "price", "1000000"),
        ("S2", "price", "1030000"),
        ("S3", "price", "1060000"),
    ]
    texts = near_identical_text([bid(1, simhash="0" * 16), bid(2, simhash="0" * 15 + "1")], max_hamming=3)
    assert [(m["supplier"], m["value"]) for m in texts[0].evidence["matched"]] == [
        ("S1", "0" * 16),
        ("S2", "0" * 15 + "1"),
    ]
    mixed = mixed_up_documents([bid(1, mentions=("s2",)), bid(2)])[0].evidence["matched"]
    assert [(m["supplier"], m["field"], m["value"]) for m in mixed] == [
        ("S1", "mentions", "S2"),
        ("S2", "supplier_id", "S2"),
    ]
