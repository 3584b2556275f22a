"""Luoyang Art. 8(15)/(16): the third unfounded complaint within 12 months, and a fabricated one."""

from datetime import date, timedelta

from services.common.contracts.procurement import ComplaintDecided
from services.common.policy import policy_for
from services.signals.complaints import Decision, decision_of, signals_for

RULES = policy_for("410300", date(2023, 6, 1)).signals
assert RULES is not None
FIRST = date(2023, 1, 10)  # 2023-01-10 .. 2024-01-10 holds no 29 February: 365 days


def decided(n: int, day: date, outcome: str = "unfounded", region: str = "410302", **kw: object) -> Decision:
    return Decision(
        region=region,
        complaint_no=f"TS-{n}",
        complainant="supplier:91410300MA0000001X",
        complainant_name="甲公司",
        project=f"P-{n}",
        decided_on=day,
        outcome=outcome,
        **kw,  # type: ignore[arg-type]
    )


def run(*decisions: Decision) -> list:
    """Feed the decisions one by one, as they arrive; every signal raised."""
    raised = []
    for k, d in enumerate(decisions):
        raised += signals_for(decisions[:k], d, RULES)
    return raised


def test_the_third_unfounded_complaint_on_day_365_opens_sup_s_15_with_the_three_listed() -> None:
    raised = run(decided(1, FIRST), decided(2, FIRST + timedelta(days=100)), decided(3, FIRST + timedelta(days=365)))
    assert [s.code for s in raised] == ["SUP-S-15"]
    assert [c.complaint_no for c in raised[0].complaints] == ["TS-1", "TS-2", "TS-3"]
    assert raised[0].basis.startswith("洛阳办法第八条第十五项")
    # The window the officer sees: from the first counted decision through the same day a year on.
    assert raised[0].window == {"from": "2023-01-10", "through": "2024-01-10", "months": 12, "needed": 3, "counted": 3}


def test_the_third_on_day_366_is_outside_the_window() -> None:
    assert (
        run(decided(1, FIRST), decided(2, FIRST + timedelta(days=100)), decided(3, FIRST + timedelta(days=366))) == []
    )


def test_the_window_rolls_a_leap_year_has_366_days_in_it() -> None:
    start = date(2023, 3, 10)  # to 2024-03-10: 366 days, through 29 February 2024
    assert run(decided(1, start), decided(2, start + timedelta(days=5)), decided(3, start + timedelta(days=366)))
    # Rolling: the 1st is out of the 4th's window, but the 2nd, 3rd and 4th are within one.
    late = [decided(1, FIRST), decided(2, date(2023, 6, 1)), decided(3, date(2024, 2, 1)), decided(4, date(2024, 5, 1))]
    raised = run(*late)
    assert [[c.complaint_no for c in s.complaints] for s in raised] == [["TS-2", "TS-3", "TS-4"]]


def test_two_unfounded_open_nothing_nor_three_over_13_months() -> None:
    assert run(decided(1, FIRST), decided(2, FIRST + timedelta(days=30))) == []
    assert run(decided(1, FIRST), decided(2, date(2023, 8, 1)), decided(3, date(2024, 2, 10))) == []


def test_withdrawn_upheld_partly_upheld_and_rejected_do_not_count() -> None:
    others = [
        decided(n, FIRST + timedelta(days=n), outcome=o)
        for n, o in enumerate(["withdrawn", "upheld", "partly_upheld", "rejected"], start=10)
    ]
    assert run(decided(1, FIRST), *others, decided(2, FIRST + timedelta(days=40))) == []


def test_the_same_complaint_sent_twice_counts_once() -> None:
    one, two = decided(1, FIRST), decided(2, FIRST + timedelta(days=10))
    assert run(one, two, one, decided(2, FIRST + timedelta(days=10))) == []
    # The same number in another region's platform is another complaint.
    assert [s.code for s in run(one, two, decided(1, FIRST + timedelta(days=20), region="410105"))] == ["SUP-S-15"]


def test_counted_across_regions_in_the_region_of_the_latest_decision_even_when_it_arrives_late() -> None:
    # The third to arrive was decided first: the task goes to the region of the latest decision.
    raised = run(
        decided(1, FIRST + timedelta(days=50), region="410105"),
        decided(2, FIRST + timedelta(days=90), region="410302"),
        decided(3, FIRST, region="110101"),
    )
    assert len(raised) == 1 and raised[0].region == "410302"
    assert [c.region for c in raised[0].complaints] == ["110101", "410105", "410302"]


def test_a_fabricated_complaint_opens_sup_s_16_at_once() -> None:
    raised = run(decided(1, FIRST, outcome="rejected", fabricated=True))
    assert [(s.code, s.region, len(s.complaints)) for s in raised] == [("SUP-S-16", "410302", 1)]
    assert raised[0].basis.startswith("洛阳办法第八条第十六项")
    # Fabricated and the third unfounded: both tasks, with different keys.
    both = run(decided(1, FIRST), decided(2, FIRST), decided(3, FIRST, fabricated=True))
    assert sorted(s.code for s in both) == ["SUP-S-15", "SUP-S-16"] and len({s.key for s in both}) == 2


def test_decision_of_reads_the_contract() -> None:
    event = ComplaintDecided.model_validate(
        {
            "project": {"code": "P-9", "name": "项目"},
            "region": "410302",
            "complaint_no": "TS-9",
            "complainant": {"type": "supplier", "id": "91410300MA0000001X", "name": "甲公司"},
            "decided_on": "2023-02-01",
            "outcome": "unfounded",
        }
    )
    d = decision_of(event)
    assert (d.key, d.decided_on, d.fabricated, d.complainant.startswith("supplier:")) == (
        ("410302", "TS-9"),
        date(2023, 2, 1),
        False,
        True,
    )
