"""The regional policy: versioned with effective dates, resolved for a region or the one above it."""

import json
from datetime import date

import pytest

from services.common.policy import POLICY_DIR, PolicyVersion, RegionalPolicy, load_policies, policy_for


def test_luoyang_default_holds_the_rule_table() -> None:
    p = policy_for("410300", date(2026, 11, 22))
    assert p.serious_recorders == ["finance"]
    assert p.general_validity_months == 12
    assert p.repair.general_wait_months == 6 and p.repair.serious_repairable is False
    assert p.expert.general_suspension_months == 12
    assert (p.expert.score_start, p.expert.score_threshold) == (100, 60)
    assert p.deadlines_working_days.contract_signing_after_award == 2
    assert p.deadlines_working_days.payment_after_invoice == 2


def test_a_county_uses_its_city_policy_and_an_unknown_region_the_default() -> None:
    day = date(2026, 11, 22)
    assert policy_for("410322", day) == policy_for("410300", day)
    assert policy_for("110105", day) == policy_for("410300", day)


def _version(name: str, start: date, end: date | None) -> dict:
    base = load_policies()["410300"].versions[0].model_dump()
    return {**base, "version": name, "effective_from": start, "effective_to": end}


def test_the_version_in_force_on_the_day_applies() -> None:
    national = _version("national-2026", date(2026, 4, 1), None)
    national["repair"] = {**national["repair"], "serious_repairable": True, "serious_min_months": 12}
    policy = RegionalPolicy(
        region="410300",
        name="test",
        versions=[_version("luoyang-2021", date(2021, 1, 1), date(2026, 3, 31)), national],
    )
    assert policy.version_on(date(2026, 3, 31)).version == "luoyang-2021"
    after = policy.version_on(date(2026, 4, 1))
    assert after.version == "national-2026" and after.repair.serious_repairable is True
    with pytest.raises(LookupError):
        policy.version_on(date(2020, 12, 31))


def test_every_policy_value_comes_from_the_data_file() -> None:
    # Nothing filled in by a default in code: the loaded version is exactly the shipped file.
    shipped = json.loads((POLICY_DIR / "luoyang.json").read_text(encoding="utf-8"))["versions"][0]
    loaded = load_policies()["410300"].versions[0]
    assert type(loaded) is PolicyVersion
    dumped = loaded.model_dump(mode="json")
    # The one field the file may leave out: an address Luoyang has not given (none is invented).
    assert dumped["expert"].pop("employer_notification_url") is None
    assert dumped == shipped


def test_luoyang_2021_values_are_pinned() -> None:
    # Each value of 洛财购〔2021〕12号 (seed 001) and the Xuchang plan (seed 004) as the source gives
    # it; a value the documents leave to the department is marked "policy". A change here is a
    # change of the department's rules: it needs the document that makes it.
    p = policy_for("410300", date(2026, 11, 22))
    assert p.version == "luoyang-2021" and p.effective_from == date(2021, 1, 1) and p.effective_to is None
    assert p.serious_recorders == ["finance"]  # 001 Art. 17-18
    assert p.general_recorders == ["purchaser", "agency", "finance"]  # 001 Art. 17-18
    assert p.evidence_required_for == ["purchaser", "agency"]  # 001 Art. 18
    assert p.general_validity_months == 12  # 001 Art. 19: one year
    assert p.repair.model_dump() == {
        "general_wait_months": 6,  # 001 Art. 20: after standing six months
        "serious_repairable": False,  # 001 Art. 20: only general records
        "serious_min_months": None,
        "review_working_days": 10,  # policy
    }
    assert (p.appeal_review_working_days, p.determination_working_days) == (15, 10)  # policy
    assert p.expert.model_dump() == {
        "general_suspension_months": 12,  # 001 Art. 25: not drawn for one year
        "score_start": 100,  # 000 §三.3
        "score_threshold": 60,  # 000 §三.3
        "default_deduction": 10,  # policy
        "deductions": {},
        "employer_notification_url": None,
    }
    assert p.notice_cadence == "monthly"  # 001 Art. 21 (periodic notice): policy
    assert p.good_credit_lookback_months == 36  # policy
    assert p.deadlines_working_days.model_dump() == {  # 004 #18
        "contract_signing_after_award": 2,
        "contract_publication_after_signing": 1,
        "contract_filing_after_signing": 1,
        "acceptance_after_request": 1,
        "payment_after_invoice": 2,
    }
    assert p.expiry_sweep_max_sleep_seconds == 3600
    assert p.evidence_access.model_dump() == {"approval_required": True, "grant_minutes": 60}  # 002 (十二)
    # 004 #8 (reminders, overdue warnings): a reminder one working day before the due date; level 1
    # the day after it, level 2 three working days after it (policy values).
    assert p.tasks.reminder_working_days_before == 1
    assert p.tasks.escalation_working_days_after == [0, 3]
    assert p.publication.model_dump() == {
        "notice_day_of_month": 1,
        "notice_hour": 9,
        "push_escalation_hours": 72,
        "push_task_due_working_days": 1,
        "guarantee_lookback_months": 36,  # 000 §三.2: policy
        "bond_reduction_percent": 50,  # 000 §三.2 gives none: the department's value
    }
