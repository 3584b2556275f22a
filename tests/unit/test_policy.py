"""The regional policy: versioned with effective dates, resolved for a region or the one above it."""

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.appeal.deadline import review_working_days
from services.common.policy import (
    POLICY_DIR,
    Continuation,
    NoPolicy,
    PolicyVersion,
    RegionalPolicy,
    ScoreRules,
    load_policies,
    policy_for,
    validity_warnings,
)
from services.common.workdays import add_working_days


def test_luoyang_default_holds_the_rule_table() -> None:
    p = policy_for("410300", date(2026, 11, 22))
    assert p.serious_recorders == ["finance"]
    assert p.general_validity_months == 12
    assert p.repair.general_wait_months == 6 and p.repair.serious_repairable is False
    assert p.expert.general_suspension_months == 12
    assert p.expert.score is None  # Art. 25 only (issue 16 point 8)
    # Procurement deadlines are Xuchang's (004 #18): the watch's layer for 411000, not Luoyang's.
    assert p.deadlines_working_days is None


def test_point1_a_policy_applies_only_where_it_was_issued() -> None:
    """Issue 16 point 1: Luoyang's policy covers 410300 and the divisions under it; any other region
    with no policy of its own or above it has none (no fallback to Luoyang)."""
    day = date(2026, 11, 22)
    assert policy_for("410322", day) == policy_for("410300", day)
    for elsewhere in ("110105", "410000", "410200", "320100"):
        with pytest.raises(NoPolicy) as caught:
            policy_for(elsewhere, day)
        assert caught.value.region == elsewhere and elsewhere in str(caught.value)


def _version(name: str, start: date, end: date | None) -> dict:
    base = load_policies()["410300"].versions[0].model_dump()
    return {**base, "version": name, "effective_from": start, "effective_to": end}


def test_the_version_in_force_on_the_day_applies() -> None:
    national = _version("national-2026", date(2026, 4, 1), None)
    national["repair"] = {**national["repair"], "serious_repairable": True, "serious_min_months": 12}
    policy = RegionalPolicy(
        region="410300",
        name="test",
        instrument=load_policies()["410300"].instrument,
        versions=[_version("luoyang-2021", date(2021, 1, 1), date(2026, 3, 31)), national],
    )
    assert policy.version_on(date(2026, 3, 31)).version == "luoyang-2021"
    after = policy.version_on(date(2026, 4, 1))
    assert after.version == "national-2026" and after.repair.serious_repairable is True
    with pytest.raises(LookupError):
        policy.version_on(date(2020, 12, 31))


def test_policy_versions_are_data() -> None:
    assert isinstance(load_policies()["410300"].versions[0], PolicyVersion)


def test_point8_a_score_regime_has_no_default_points() -> None:
    """Issue 16 point 8: points per behaviour and what training restores come from the policy, with
    their source; nothing is assumed."""
    with pytest.raises(ValueError):
        ScoreRules.model_validate({"start": 100, "threshold": 60, "deductions": {}, "training_restores_to": 60})
    with pytest.raises(ValueError):
        ScoreRules.model_validate({"source": "x", "start": 100, "threshold": 60, "training_restores_to": 60})
    rules = ScoreRules(
        source="某市办法第十条", start=100, threshold=60, deductions={"EXP-G-01": 5}, training_restores_to=None
    )
    assert rules.deductions.get("EXP-G-02", 0) == 0


def test_point2_a_policy_states_its_own_validity() -> None:
    """Issue 16 point 2: Luoyang Art. 28 — 本办法有效期2年，自印发之日起施行. Issued in 2021 (the day is not
    in the seed: unknown, not guessed), so valid through 2023-12-31 at the latest; past it with no
    continuation, the policy still applies and says so; a recorded continuation ends the warning."""
    luoyang = load_policies()["410300"]
    assert luoyang.instrument.number == "洛财购〔2021〕12号" and luoyang.instrument.issued_on is None
    assert luoyang.versions[0].effective_from is None  # unknown, not 2021-01-01
    assert policy_for("410322", date(2026, 12, 7)).version == "luoyang-2021"  # keeps working
    within = luoyang.validity(date(2023, 6, 1))
    assert (within["status"], within["warning"]) == ("within_validity", None)
    past = luoyang.validity(date(2026, 12, 7))
    assert past["status"] == "past_validity" and past["valid_until"] == "2023-12-31"
    assert past["valid_until_is_latest_possible"] and "2023-12-31" in past["warning"]
    assert [w["region"] for w in validity_warnings(date(2026, 12, 7))] == ["410300"]
    continued = luoyang.model_copy(deep=True)
    continued.instrument.continuations.append(
        Continuation(instrument="某号文（继续施行）", valid_until=date(2027, 12, 31), recorded_by="admin-1")
    )
    assert continued.validity(date(2026, 12, 7))["status"] == "continued"
    assert continued.validity(date(2028, 1, 1))["status"] == "past_validity"


def test_point11_every_deadline_is_a_typed_clock() -> None:
    """Issue 16 point 11: each deadline has its unit, start event and source; internal targets are
    marked; the objection review is the cited rule in its own unit (20 calendar days)."""
    v = policy_for("410300", date(2026, 12, 7))
    review = v.clocks["appeal_review"]
    assert (review.value, review.unit, review.kind) == (20, "calendar_days", "law")
    assert "征信业管理条例 第二十五条" in review.source and review.starts.startswith("appeal.filed")
    assert v.clocks["determination"].kind == "internal_target"
    assert v.clocks["repair_review"].kind == "internal_target"
    assert (v.clocks["general_validity"].unit, v.clocks["general_validity"].kind) == ("months", "law")
    assert all(c.source and c.starts for c in v.clocks.values())
    broken = v.model_dump()
    broken["clocks"]["determination"]["unit"] = "calendar_days"
    with pytest.raises(ValueError, match="determination_working_days"):
        PolicyVersion.model_validate(broken)
    del broken["clocks"]["determination"]
    with pytest.raises(ValueError):
        PolicyVersion.model_validate(broken)


def test_point11_the_objection_review_ends_by_the_legal_deadline() -> None:
    # Filed on 2026-09-25: 20 days end 2026-10-15; National Day week falls inside. 15 working days
    # (the old value) would have ended on 2026-10-22, a week after the deadline.
    filed = date(2026, 9, 25)
    n, provisional = review_working_days(policy_for("410300", filed).clocks["appeal_review"], filed)
    assert provisional is False
    assert add_working_days(filed, n) <= filed + timedelta(days=20)
    assert add_working_days(filed, 15) > filed + timedelta(days=20)


def test_every_policy_value_comes_from_the_data_file() -> None:
    # Nothing filled in by a default in code: the loaded version is exactly the shipped file.
    shipped = json.loads((POLICY_DIR / "luoyang.json").read_text(encoding="utf-8"))["versions"][0]
    loaded = load_policies()["410300"].versions[0]
    assert type(loaded) is PolicyVersion
    dumped = loaded.model_dump(mode="json")
    # The fields the file may leave out, each an absence, never a value: an address Luoyang has not
    # given (none is invented); since issue 16, no score regime (point 8), no look-back, bond
    # percentage or deposit ban with their sources (points 6, 7), and the old review field (point 11).
    assert dumped["expert"].pop("employer_notification_url") is None
    assert dumped["expert"].pop("score") is None
    assert dumped.pop("appeal_review_working_days") is None
    assert dumped.pop("deadlines_working_days") is None  # 004 #18 is Xuchang's, not Luoyang's
    absent = {k: dumped["publication"].pop(k) for k in list(dumped["publication"]) if k not in shipped["publication"]}
    assert absent == {
        "guarantee_lookback_months": None,
        "guarantee_lookback_source": None,
        "bond_reduction_percent": None,
        "bond_reduction_source": None,
        "deposits_forbidden": False,
        "deposits_forbidden_source": None,
    }
    assert dumped == shipped


def test_luoyang_2021_values_are_pinned() -> None:
    # Each value of 洛财购〔2021〕12号 (seed 001) and the Xuchang plan (seed 004) as the source gives
    # it; a value the documents leave to the department is marked "policy". A change here is a
    # change of the department's rules: it needs the document that makes it. (Merged with issue 16:
    # the issue day is unknown, so no effective_from (point 2); only city and county departments
    # record (point 4); Art. 25 only, no score (point 8); no look-back and no bond percentage, which
    # no seed sets for Luoyang (points 6, 7); the objection review is 20 calendar days (point 11).)
    p = policy_for("410300", date(2026, 11, 22))
    assert p.version == "luoyang-2021" and p.effective_from is None and p.effective_to is None
    assert p.serious_recorders == ["finance"]  # 001 Art. 17-18
    assert p.general_recorders == ["purchaser", "agency", "finance"]  # 001 Art. 17-18
    assert p.recording_levels == ["city", "county"]  # 001 Art. 17: 市、县财政部门
    assert p.evidence_required_for == ["purchaser", "agency"]  # 001 Art. 18
    assert p.general_validity_months == 12  # 001 Art. 19: one year
    assert p.repair.model_dump() == {
        "general_wait_months": 6,  # 001 Art. 20: after standing six months
        "serious_repairable": False,  # 001 Art. 20: only general records
        "serious_min_months": None,
        "review_working_days": 10,  # policy (internal target)
    }
    assert (p.appeal_review_working_days, p.determination_working_days) == (None, 10)  # policy
    review = p.clocks["appeal_review"]
    assert (review.value, review.unit, review.kind) == (20, "calendar_days", "law")  # 征信业管理条例 Art. 25
    assert p.expert.model_dump() == {
        "general_suspension_months": 12,  # 001 Art. 25: not drawn for one year
        "score": None,  # the 100/60 score is Shenyang's draft (000 §三.3), not Luoyang's
        "employer_notification_url": None,
    }
    assert p.notice_cadence == "monthly"  # 001 Art. 21 (periodic notice): policy
    assert p.deadlines_working_days is None  # 004 #18 is Xuchang's (a rule applies only where it was made)
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
        "guarantee_lookback_months": None,  # none named by Luoyang (issue 16 point 6)
        "guarantee_lookback_source": None,
        "bond_reduction_percent": None,  # 000 §三.2 gives none: 根据项目实际 (issue 16 point 7)
        "bond_reduction_source": None,
        "deposits_forbidden": False,
        "deposits_forbidden_source": None,
    }


def test_first_effective_day_with_an_unknown_issue_day() -> None:
    """Issue 21's occurred_on floor with issue 16's unknown issue day: Luoyang records only the year
    (2021), so the floor is 2021-01-01, the earliest the instrument can have been issued; a region
    with no policy has none to give (NoPolicy); a policy that knows not even the year sets no floor."""
    from services.common import policy as module

    assert module.first_effective_day("410300") == date(2021, 1, 1)
    assert module.first_effective_day("410322") == date(2021, 1, 1)
    with pytest.raises(NoPolicy):
        module.first_effective_day("110105")
    luoyang = load_policies()["410300"]
    day_known = luoyang.model_copy(deep=True)
    day_known.instrument.issued_on = date(2021, 6, 15)
    year_unknown = luoyang.model_copy(deep=True)
    year_unknown.instrument.issued_year = None
    dated = luoyang.model_copy(deep=True)
    dated.versions[0].effective_from = date(2021, 7, 1)
    for variant, floor in ((day_known, date(2021, 6, 15)), (year_unknown, None), (dated, date(2021, 7, 1))):
        module.load_policies.cache_clear()
        try:
            original = module.load_policies
            module.load_policies = lambda v=variant: {"410300": v}  # type: ignore[assignment]
            assert module.first_effective_day("410300") == floor
        finally:
            module.load_policies = original
            module.load_policies.cache_clear()


def test_point5_the_statement_window_is_a_policy_value_without_default() -> None:
    """Issue 16 point 5: 国办发〔2020〕49号 (八) gives no number: Luoyang sets none (its officer confirms),
    the TEST FIXTURE county sets 5 calendar days; only a policy_value in calendar days loads."""
    luoyang = policy_for("410300", date(2026, 12, 7))
    assert "statement_window" not in luoyang.clocks and luoyang.statement_window_days() is None
    path = Path(__file__).parents[1] / "fixtures" / "policies" / "test_county_410399.json"
    (fixture,) = RegionalPolicy.model_validate(json.loads(path.read_text(encoding="utf-8"))).versions
    assert fixture.statement_window_days() == 5 and "TEST FIXTURE" in fixture.clocks["statement_window"].source
    broken = fixture.model_dump()
    broken["clocks"]["statement_window"]["kind"] = "law"
    with pytest.raises(ValueError, match="statement_window"):
        PolicyVersion.model_validate(broken)
    broken["clocks"]["statement_window"] |= {"kind": "policy_value", "unit": "working_days"}
    with pytest.raises(ValueError, match="statement_window"):
        PolicyVersion.model_validate(broken)


def test_luoyang_policy_cites_no_other_regions_document() -> None:
    """A rule applies only in the region whose document made it: no number of Luoyang's policy cites
    Xuchang/Yuzhou's 004 (its procurement deadlines are the watch's Xuchang layer) or Shenyang's 000."""
    raw = (POLICY_DIR / "luoyang.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    assert data["region"] == "410300"
    for version in data["versions"]:
        for name, clock in version["clocks"].items():
            assert not re.match(r"(004|000)\b", clock["source"]), (name, clock["source"])
        assert version.get("deadlines_working_days") is None
    assert "004" not in raw


def test_a_clock_typing_a_number_the_version_does_not_set_is_refused() -> None:
    version = policy_for("410300", date(2026, 11, 22)).model_dump(mode="json")
    version["clocks"]["payment_after_invoice"] = {
        "value": 2, "unit": "working_days", "starts": "invoice.received", "source": "004 第18项",
        "kind": "policy_value",
    }  # fmt: skip
    with pytest.raises(ValidationError, match="does not set"):
        PolicyVersion.model_validate(version)
