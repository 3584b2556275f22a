"""The watch's deadline layers (issue 13): national law everywhere, Xuchang (411000, from 2023)
stricter, a looser regional value refused at load naming both sources, no layer → not watched."""

import json
from datetime import date
from pathlib import Path

import pytest

from services.watch.deadlines import (
    POLICY_DIR,
    NoWatchPolicy,
    PolicyConflict,
    deadline_policy,
    due_for,
    load_layers,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_national_layer_cites_each_article_and_unit() -> None:
    law = deadline_policy().national.stages
    assert (law["contract_signing"].value, law["contract_signing"].unit) == (30, "calendar_days")
    assert "第四十六条" in law["contract_signing"].source
    assert (law["contract_publication"].value, law["contract_publication"].unit) == (2, "working_days")
    assert "实施条例 第五十条" in law["contract_publication"].source
    assert (law["contract_filing"].value, law["contract_filing"].unit) == (7, "working_days")
    assert "第四十七条" in law["contract_filing"].source
    # No number in the law for these: no invented national clock.
    assert "acceptance" not in law and "payment" not in law


def test_xuchang_is_stricter_and_applies_under_411000_from_2023() -> None:
    policy = deadline_policy()
    # Thursday 2024-09-12: 2 working days skip the 中秋 weekend (14-17 Sept) and land on... the
    # Saturday 2024-09-14 is a 调休 working day, so the 2nd working day is Saturday 14 September.
    due = due_for(policy, "411081", "contract_signing", date(2024, 9, 12))
    assert due is not None and due.due_on == date(2024, 9, 14)
    assert "004 第18项" in due.source and len(due.sources) == 2
    # From Friday the 13th: Saturday (调休), then 中秋 15-17 September: the 2nd is Wednesday the 18th.
    assert due_for(policy, "411000", "payment", date(2024, 9, 13)).due_on == date(2024, 9, 18)
    # Before 2023 only the law applies in Xuchang: 30 calendar days, the last day moved past a day off.
    before = due_for(policy, "411000", "contract_signing", date(2022, 12, 1))
    # Day 30 is Saturday 2022-12-31; 1-2 January 2023 are 元旦 days off: the period ends on the 3rd.
    assert before is not None and before.due_on == date(2023, 1, 3)
    assert "第四十六条" in before.source
    assert due_for(policy, "411000", "payment", date(2022, 12, 1)) is None


def test_thirty_calendar_days_end_on_the_next_working_day() -> None:
    # Award on 2024-09-01: day 30 is 2024-10-01 (国庆), the period ends on Tuesday 2024-10-08.
    due = due_for(deadline_policy(), "410300", "contract_signing", date(2024, 9, 1))
    assert due is not None and due.due_on == date(2024, 10, 8) and not due.provisional


def test_a_provisional_year_is_marked() -> None:
    last_official = max(y for y in range(2004, 2100) if not _provisional(y))
    due = due_for(deadline_policy(), "411000", "contract_filing", date(last_official, 12, 31))
    assert due is not None and due.provisional


def _provisional(year: int) -> bool:
    from services.common.workdays import RECKONER

    return RECKONER.is_provisional(year)


def test_a_region_without_a_layer_is_not_watched() -> None:
    with pytest.raises(NoWatchPolicy, match="110000"):
        deadline_policy().layers_for("110000", date(2024, 1, 2))
    with pytest.raises(NoWatchPolicy):
        deadline_policy().layers_for("not-a-code", date(2024, 1, 2))


def test_a_looser_regional_value_is_refused_naming_both_sources() -> None:
    with pytest.raises(PolicyConflict) as exc:
        load_layers([POLICY_DIR, FIXTURES / "watch_looser"])
    text = str(exc.value)
    assert "contract_filing" in text and "test layer 第1项" in text and "第四十七条" in text


def test_a_looser_value_in_another_unit_is_refused_too(tmp_path: Path) -> None:
    layer = json.loads((FIXTURES / "watch_looser" / "looser.json").read_text())
    # 25 working days always run past 30 calendar days.
    layer["stages"] = {
        "contract_signing": {
            "value": 25,
            "unit": "working_days",
            "starts": "award.notified",
            "ends": "contract.signed",
            "source": "test layer 第2项",
            "kind": "policy_value",
        }
    }
    (tmp_path / "x.json").write_text(json.dumps(layer))
    with pytest.raises(PolicyConflict, match="第四十六条"):
        load_layers([POLICY_DIR, tmp_path])


def test_a_regional_layer_without_its_overdue_task_target_is_refused(tmp_path: Path) -> None:
    layer = json.loads((FIXTURES / "watch_looser" / "looser.json").read_text())
    layer.pop("overdue_task")
    layer["stages"] = {}
    (tmp_path / "x.json").write_text(json.dumps(layer))
    with pytest.raises(ValueError, match="overdue_task"):
        load_layers([POLICY_DIR, tmp_path])


def test_shenyang_is_watched_under_the_national_deadlines_only() -> None:
    policy = deadline_policy()
    layer = policy.regional["210100"]
    assert layer.stages == {}  # seed 000 gives no deadline of its own: nothing Shenyang-specific
    # 和平区 (210102), under Shenyang: each stage due as national law sets it, on national sources only.
    award = date(2026, 3, 2)  # a Monday
    signing = due_for(policy, "210102", "contract_signing", award)
    assert signing is not None and signing.due_on == date(2026, 4, 1) and signing.value == 30
    assert signing.sources == (policy.national.stages["contract_signing"].source,)
    publication = due_for(policy, "210102", "contract_publication", award)
    assert publication is not None and publication.due_on == date(2026, 3, 4)
    assert "实施条例 第五十条" in publication.source
    filing = due_for(policy, "210100", "contract_filing", award)
    assert filing is not None and filing.due_on == date(2026, 3, 11) and "第四十七条" in filing.source
    # No payment or acceptance clock: the law gives no number and Shenyang none either.
    assert due_for(policy, "210102", "payment", award) is None
    assert due_for(policy, "210102", "acceptance", award) is None


def test_no_xuchang_rule_applies_in_shenyang() -> None:
    policy = deadline_policy()
    layers = policy.layers_for("210102", date(2026, 3, 2))
    assert [layer.region for layer in layers if layer.layer == "regional"] == ["210100"]
    xuchang = policy.regional["411000"]
    for stage in ("contract_signing", "contract_publication", "contract_filing"):
        due = due_for(policy, "210102", stage, date(2026, 3, 2))  # type: ignore[arg-type]
        assert due is not None and xuchang.stages[stage].source not in due.sources  # type: ignore[index]
    assert xuchang.deposits_forbidden is not None and layers[-1].deposits_forbidden is None
