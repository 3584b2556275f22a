"""What the pure rule modules answer, in full: every refusal with the message and details the
caller is shown, the edges of each date rule, and the errors a programming mistake gets. Written
against the survivors of `bash deploy/mutate.sh` (a test that checks only the code of a refusal
lets its message, its status or its details change unnoticed)."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.appeal.rules import Refusal as AppealRefusal
from services.appeal.rules import judge
from services.casework.plan import plan_task, replan_task
from services.common.arrangements import Arrangement, provisional
from services.common.catalogue import load_catalogue
from services.common.identifiers import division_level, make_uscc, regions_above, uscc_check_char
from services.common.lawdates import SHANGHAI, expiry_moment, iso, local_date
from services.common.policy import policy_for
from services.common.topics import BEHAVIOUR_REPORTED, MISCONDUCT_DETERMINED
from services.common.workdays import Reckoner, add_working_days, is_working_day, previous_working_day
from services.evaluation.intake.rules import Record, Rejection, decide
from services.evaluation.records.status import InForce, subject_status
from services.publication.goodcredit import answer, good_credit
from tests.unit import test_appeal_rules as appeal_t
from tests.unit import test_casework_plan as plan_t
from tests.unit import test_intake_rules as intake_t
from workflows.repair.rules import Refusal, RepairTerms, judge_application, judge_timing, terms_from, window_for

TODAY = intake_t.TODAY

# --- identifiers, legal dates, working days ---------------------------------------------------------


def test_identifier_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="^a USCC prefix has 17 characters, got 16$"):
        uscc_check_char("91350100M000100Y")
    with pytest.raises(ValueError, match="^character 'I' is not in the USCC alphabet$"):
        uscc_check_char("91350100M000100YI")
    with pytest.raises(ValueError, match="^not an administrative division code: '000000'$"):
        division_level("000000")
    with pytest.raises(ValueError, match="^not an administrative division code: '4103'$"):
        regions_above("4103")


@pytest.mark.parametrize(
    "prefix",
    [
        "91A50100M000100Y4",  # a letter at position 3 (in the alphabet, so only this check refuses it)
        "9135010AM000100Y4",  # a letter at position 8
        "91３50100M000100Y4",  # a full-width digit: isdigit() but not ASCII
    ],
)
def test_make_uscc_refuses_a_division_part_that_is_not_six_ascii_digits(prefix: str) -> None:
    with pytest.raises(ValueError, match="^positions 3-8 of a USCC are the 6-digit division code of registration$"):
        make_uscc(prefix)


def test_make_uscc_looks_at_positions_3_to_8_only() -> None:
    # Position 9 starts the organisation part: a character outside the alphabet there is refused
    # by the check character, not as a division code.
    with pytest.raises(ValueError, match="is not in the USCC alphabet"):
        make_uscc("91350100中000100Y4")


def test_legal_dates() -> None:
    with pytest.raises(ValueError, match="^a naive datetime has no legal date$"):
        local_date(datetime(2026, 12, 7, 17, 0))
    # 17:00 UTC is 01:00 of the next day in Shanghai: the legal date is Shanghai's.
    assert local_date(datetime(2026, 12, 7, 17, 0, tzinfo=UTC)) == date(2026, 12, 8)
    # In force through its last day: it ends at the next local midnight.
    assert expiry_moment(date(2027, 11, 22)) == datetime(2027, 11, 23, 0, 0, tzinfo=SHANGHAI)


def test_iso_of_dates_and_moments() -> None:
    assert iso(None) is None
    assert iso(date(2026, 12, 7)) == "2026-12-07"
    # A naive moment (as SQLite returns it) is UTC; an aware one is kept as it is.
    assert iso(datetime(2026, 12, 7, 8, 30)) == "2026-12-07T08:30:00+00:00"
    assert iso(datetime(2026, 12, 7, 16, 30, tzinfo=SHANGHAI)) == "2026-12-07T16:30:00+08:00"


def test_an_installed_arrangement_keeps_weekends_off_unless_it_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A year no pinned chinese-calendar knows, with a made-up arrangement (not official data).
    arrangement = {"year": 2031, "holidays": ["2031-01-01"], "workdays": ["2031-01-04"]}
    (tmp_path / "2031.json").write_text(json.dumps(arrangement), encoding="utf-8")
    monkeypatch.setenv("CREDIT_CALENDAR_DIR", str(tmp_path))
    days = [date(2031, 1, 1), date(2031, 1, 4), date(2031, 1, 10), date(2031, 1, 11), date(2031, 1, 12)]
    # Wednesday holiday, Saturday made a working day, Friday, Saturday, Sunday.
    assert [is_working_day(d) for d in days] == [False, True, True, False, False]


def installed(version: int | None) -> Arrangement:
    return Arrangement(2031, frozenset(), frozenset(), f"test v{version}", "official", version=version)


@pytest.mark.parametrize(
    ("held", "offered", "taken"),
    [
        (None, None, False),  # the same unversioned announcement again
        (None, 1, True),  # a versioned install replaces an unversioned one
        (1, 1, False),  # a replayed announcement changes nothing
        (1, 2, True),  # a newer version replaces it
        (2, 1, False),  # an older one never does
    ],
)
def test_an_installed_arrangement_is_replaced_only_by_a_newer_one(
    held: int | None, offered: int | None, taken: bool
) -> None:
    reckoner = Reckoner()
    assert reckoner.install(installed(held)) is True
    assert reckoner.install(installed(offered)) is taken
    assert reckoner.arrangement(2031).source == f"test v{offered if taken else held}"


def test_previous_working_day_counts_n_back() -> None:
    # From Monday 2026-12-07: Friday 12-04, Thursday 12-03.
    assert previous_working_day(date(2026, 12, 7)) == date(2026, 12, 4)
    assert previous_working_day(date(2026, 12, 7), 2) == date(2026, 12, 3)


def test_working_days_cannot_be_counted_backwards() -> None:
    with pytest.raises(ValueError, match="^n must not be negative; use previous_working_day to go back$"):
        add_working_days(date(2026, 12, 7), -1)


# --- intake ---------------------------------------------------------------------------------------


def test_intake_refusals_in_full() -> None:
    bad_region = intake_t.rejected(region="419999x")
    assert bad_region == Rejection("invalid_identifier", "region '419999x' is not a division code")
    bad_subject = intake_t.rejected(subject_id="91410300MA0000002Y")
    assert bad_subject == Rejection("invalid_identifier", "subject id '91410300MA0000002Y' is not a valid supplier id")
    bad_reporter = intake_t.rejected(reporter_id="12410300MB0000001Y")
    assert bad_reporter == Rejection(
        "invalid_identifier", "reporter id '12410300MB0000001Y' is not a valid purchaser id"
    )
    assert intake_t.rejected(code="SUP-X-99") == Rejection(
        "unknown_behaviour_code", "'SUP-X-99' is not in the catalogue"
    )
    assert intake_t.rejected(code="EXP-G-01") == Rejection(
        "subject_mismatch", "EXP-G-01 is a behaviour of a expert, the subject is a supplier"
    )
    assert intake_t.rejected(reporter_type="finance", reporter_id="110000") == Rejection(
        "not_authorised", "finance department 110000 is not in charge of region 410322", status=403
    )
    assert intake_t.rejected(MISCONDUCT_DETERMINED, code="SUP-S-01", determination=intake_t.determination()) == (
        Rejection("not_authorised", "only a finance department may determine serious misconduct", status=403)
    )
    future = TODAY + timedelta(days=1)
    assert intake_t.rejected(occurred_on=future) == Rejection("invalid_date", f"occurred_on {future} is in the future")
    assert intake_t.rejected(with_evidence=False) == Rejection(
        "evidence_required", "a purchaser must attach evidence (photos, audio/video, joint signatures)"
    )
    assert intake_t.rejected(reporter_type="finance", reporter_id="410300", code="SUP-S-01", with_evidence=False) == (
        Rejection(
            "determination_required", "SUP-S-01 is serious: a finance department records it with its determination"
        )
    )


def test_a_reporter_outside_its_regions_is_refused_naming_them() -> None:
    # Issue 21: a purchaser or agency reports only on its line of the division tree.
    assert intake_t.rejected(reporter_regions=["120000", "110000"]) == Rejection(
        "not_authorised", "a purchaser of region 110000/120000 may not report in region 410322", status=403
    )
    assert intake_t.rejected(reporter_regions=[]) == Rejection(
        "not_authorised", "a purchaser of region unknown may not report in region 410322", status=403
    )


def test_general_refusals_in_full() -> None:
    determination = intake_t.determination()
    assert intake_t.rejected(reporter_type="finance", code="SUP-G-01", determination=determination) == Rejection(
        "severity_mismatch", "SUP-G-01 is a general behaviour; a determination is for serious ones"
    )
    # A determination event for a general code is refused even when it carries no determination.
    assert intake_t.rejected(MISCONDUCT_DETERMINED, reporter_type="finance", code="SUP-G-01").reason == (
        "severity_mismatch"
    )
    # A reporter the policy does not let record general behaviour (Art. 17-18).
    policy = policy_for("410300", TODAY).model_copy(update={"general_recorders": ["finance"]})
    report = intake_t.report()
    decision = decide(
        BEHAVIOUR_REPORTED,
        report,
        catalogue=load_catalogue(),
        policy=policy,
        today=TODAY,
        reporter_regions=[report.reporter.id[2:8]],  # in its own region: only the policy refuses it
    )
    assert decision == Rejection("not_authorised", "a purchaser may not record behaviour", status=403)


def test_determination_dates_at_their_edges() -> None:
    def serious(decided_on: date, liability_ends_on: date):  # type: ignore[no-untyped-def]
        d = intake_t.determination(decided_on=decided_on, liability_ends_on=liability_ends_on)
        return intake_t.run(MISCONDUCT_DETERMINED, reporter_type="finance", code="SUP-S-01", determination=d)

    # Decided today, ending today: a one-day liability is consistent and still to be enforced.
    assert serious(TODAY, TODAY) == Record(behaviour=load_catalogue().get("SUP-S-01"), valid_until=TODAY)  # type: ignore[arg-type]
    assert serious(TODAY, TODAY - timedelta(days=1)) == Rejection(
        "invalid_date", "the determination's dates are inconsistent or in the future"
    )
    ended = TODAY - timedelta(days=1)
    assert serious(TODAY - timedelta(days=10), ended) == Rejection(
        "liability_ended", f"the liability period ended on {ended}"
    )


def test_records_in_force_are_listed_in_full() -> None:
    records = [
        InForce("r2", "SUP-G-02", "general", date(2027, 3, 1)),
        InForce("r1", "SUP-S-01", "serious", date(2027, 3, 1)),
    ]
    status = subject_status(intake_t.SUPPLIER, records)
    assert status["records_in_force"] == [
        {"record_id": "r1", "behaviour_code": "SUP-S-01", "severity": "serious", "valid_until": "2027-03-01"},
        {"record_id": "r2", "behaviour_code": "SUP-G-02", "severity": "general", "valid_until": "2027-03-01"},
    ]


# --- appeal ---------------------------------------------------------------------------------------


def test_appeal_refusals_in_full() -> None:
    app, rec = appeal_t.application, appeal_t.record
    assert judge(app(grounds=""), rec(), None) == AppealRefusal(
        "grounds_required", "an objection states its grounds (谁申请、谁举证)", 422
    )
    assert judge(app(evidence=[]), rec(), None) == AppealRefusal(
        "evidence_required", "an objection brings at least one evidence item (谁申请、谁举证)", 422
    )
    assert judge(app(), None, None) == AppealRefusal("record_not_found", "no record rec-1", 404)
    assert judge(app(), rec(subject_id=appeal_t.new_uscc()), None) == AppealRefusal(
        "not_subject", "only the record's subject may object to record rec-1", 403
    )
    # Issue 16 point 6 (changed from issue 24's refusal of an expired record): an ended record is
    # still in the subject's archive and may be wrong, so it may be objected to; a withdrawn one not.
    assert judge(app(), rec(status="expired"), None) is None
    assert judge(app(), rec(status="repaired"), None) is None
    assert judge(app(), rec(status="withdrawn"), None) == AppealRefusal(
        "record_not_in_force", "record rec-1 is withdrawn, not in force", 409, {"record_status": "withdrawn"}
    )
    assert judge(app(), rec(), "apl-1") == AppealRefusal(
        "appeal_open", "appeal apl-1 on record rec-1 is still open", 409, {"appeal_id": "apl-1"}
    )


# --- task plan ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "before"), [(-1, 1), (10, -1)])
def test_a_negative_working_day_count_is_a_programming_error(days: int, before: int) -> None:
    with pytest.raises(ValueError, match="^working-day counts must not be negative$"):
        plan_task(plan_t.spec(days, before=before), plan_t.at(date(2026, 12, 1), 10))


def test_zero_working_days_are_allowed() -> None:
    # Due the day it opens (Tuesday 2026-12-01) and reminded that morning: no reminder, it has passed.
    plan = plan_task(plan_t.spec(0, before=0), plan_t.at(date(2026, 12, 1), 10))
    assert plan.due_on == date(2026, 12, 1)
    assert [a.kind for a in plan.alarms] == ["escalation", "escalation"]


def test_the_reminder_counts_its_own_working_days_back() -> None:
    # Due Friday 2026-12-11 (8 working days from Tuesday 12-01); two working days before is Wednesday.
    plan = plan_task(plan_t.spec(8, before=2), plan_t.at(date(2026, 12, 1), 10))
    assert plan.due_on == date(2026, 12, 11)
    assert plan.alarms[0].at == plan_t.at(date(2026, 12, 9), 9)


def test_a_reminder_at_the_very_moment_the_task_opens_is_not_planned() -> None:
    # Due Wednesday 12-02, reminded Tuesday 12-01 09:00: opened exactly then, the reminder is moot.
    plan = plan_task(plan_t.spec(1, before=1), plan_t.at(date(2026, 12, 1), 9))
    assert [a.kind for a in plan.alarms] == ["escalation", "escalation"]


def test_alarms_of_a_provisionally_counted_due_date_are_provisional() -> None:
    # 2031 officially installed (a made-up arrangement), 2030 provisional: a task opened on
    # 2030-12-30 is due 2031-01-10, counted through a provisional year. Its reminder (01-09) and
    # escalations fall in the official year, and yet they hang on that provisional due date.
    reckoner = Reckoner()
    reckoner.install(Arrangement(2031, frozenset({date(2031, 1, 1)}), frozenset(), "test", "official", version=1))
    plan = plan_task(plan_t.spec(8, before=1), plan_t.at(date(2030, 12, 30), 10), reckoner)
    assert (plan.due_on, plan.due_provisional) == (date(2031, 1, 10), True)
    assert [(a.kind, a.at.date(), a.provisional) for a in plan.alarms] == [
        ("reminder", date(2031, 1, 9), True),
        ("escalation", date(2031, 1, 11), True),
        ("escalation", date(2031, 1, 16), True),
    ]


def _alarms(plan) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(a.kind, a.level, a.at.date(), a.at.hour, a.provisional) for a in plan.alarms]


def official_2031(*, holidays: frozenset[date] = frozenset(), workdays: frozenset[date] = frozenset()) -> Reckoner:
    # The provisional 2031 of the law, installed as official with the given changes (made up).
    p = provisional(2031)
    reckoner = Reckoner()
    reckoner.install(Arrangement(2031, p.holidays | holidays, p.workdays | workdays, "test", "official", version=1))
    return reckoner


# A task opened Monday 2031-03-03 on the provisional 2031: due Thursday 03-13, reminded 03-12 09:00,
# escalated 03-14 and 03-19.
SPEC = plan_t.spec(8, before=1)
OLD_PLAN = plan_task(SPEC, plan_t.at(date(2031, 3, 3), 10), Reckoner())


def test_a_replan_moves_what_has_not_fired_later_and_keeps_what_fired() -> None:
    assert (OLD_PLAN.due_on, OLD_PLAN.due_provisional) == (date(2031, 3, 13), True)
    # The official arrangement makes Monday 03-10 a day off: one working day later.
    new = replan_task(SPEC, OLD_PLAN, [0], official_2031(holidays=frozenset({date(2031, 3, 10)})))
    assert (new.due_on, new.due_provisional) == (date(2031, 3, 14), False)
    assert _alarms(new) == [
        ("reminder", 0, date(2031, 3, 12), 9, True),  # fired: it stays as it was
        ("escalation", 1, date(2031, 3, 15), 0, False),
        ("escalation", 2, date(2031, 3, 20), 0, False),
    ]


def test_a_replan_never_moves_a_date_earlier() -> None:
    # The official arrangement makes Saturday 03-08 a working day: the new count is a day earlier,
    # so every date stays, no longer provisional.
    new = replan_task(SPEC, OLD_PLAN, [], official_2031(workdays=frozenset({date(2031, 3, 8)})))
    assert (new.due_on, new.due_provisional) == (date(2031, 3, 13), False)
    assert _alarms(new) == [
        ("reminder", 0, date(2031, 3, 12), 9, False),
        ("escalation", 1, date(2031, 3, 14), 0, False),
        ("escalation", 2, date(2031, 3, 19), 0, False),
    ]


def test_a_replan_keeps_an_alarm_whose_new_moment_is_earlier() -> None:
    # Saturday 03-08 a working day and Wednesday 03-12 a day off: still due 03-13, but the working
    # day before it is now 03-11. The reminder announced for 03-12 is not moved earlier.
    reckoner = official_2031(holidays=frozenset({date(2031, 3, 12)}), workdays=frozenset({date(2031, 3, 8)}))
    new = replan_task(SPEC, OLD_PLAN, [], reckoner)
    assert new.due_on == date(2031, 3, 13)
    assert _alarms(new)[0] == ("reminder", 0, date(2031, 3, 12), 9, False)


# --- good credit ----------------------------------------------------------------------------------


def test_the_stored_answer_is_the_known_answer_unless_told_otherwise() -> None:
    today = date(2026, 12, 7)
    assert good_credit(False, None, 0, today) == answer(False, None, today)
    assert good_credit(False, None, 0, today, "410322") == answer(False, None, today, "410322")
    # Issue 21: never heard of — no claim either way; issue 16 point 7: the region's incentives still said.
    unknown = good_credit(False, None, 0, today, "410322", known=False)
    assert unknown is not None
    assert (unknown["eligible"], unknown["free_bid_guarantee"], unknown["reason"]) == (None, None, "no_record")
    assert (unknown["bond_reduction"], unknown["policy_region"]) == (None, "410322")
    assert good_credit(False, None, None, today) is None  # not a supplier
    # Issue 22: while records are in force, the day after the last of them ends (a repair may be sooner).
    blocked = good_credit(True, None, 0, today, in_force_until=date(2027, 3, 1))
    assert blocked is not None and (blocked["reason"], blocked["eligible_from"]) == ("record_in_force", "2027-03-02")


def test_an_eligible_answer_has_no_reason() -> None:
    # Issue 16 point 7 (merged over issue 24's test of a 50 % reduction by the supplier's
    # registration region): no percentage where the project's region's policy sets none.
    assert answer(False, None, date(2026, 12, 7)) == {
        "eligible": True,
        "free_bid_guarantee": True,
        "bond_reduction": True,
        "bond_reduction_percent": None,
        "policy_region": None,
        "bond_reduction_source": None,
        "deposits_forbidden": None,
        "deposits_forbidden_source": None,
        "eligible_from": None,
        "reason": None,
    }
    assert answer(False, date(2026, 12, 6), date(2026, 12, 7))["reason"] is None


# --- repair ---------------------------------------------------------------------------------------


def test_repair_terms_are_the_policys() -> None:
    assert terms_from(policy_for("410300", date(2026, 12, 7))) == RepairTerms(
        policy_version="luoyang-2021",
        general_wait_months=6,
        serious_repairable=False,
        serious_min_months=None,
        review_working_days=10,
        reminder_working_days_before=1,
        escalation_working_days_after=[0, 3],
        opens_day_after_wait=True,  # issue 16 point 9: the window opens the day after the half-year
    )


def test_repair_terms_carry_a_minimum_period_for_serious_records() -> None:
    # National rules from 2026-04-01 (a policy value of such a region): serious records after 12 months.
    policy = policy_for("410300", date(2026, 12, 7))
    national = policy.model_copy(
        update={"repair": policy.repair.model_copy(update={"serious_repairable": True, "serious_min_months": 12})}
    )
    terms = terms_from(national)
    assert (terms.serious_repairable, terms.serious_min_months) == (True, 12)


LUOYANG = RepairTerms(
    policy_version="luoyang-2021",
    general_wait_months=6,
    serious_repairable=False,
    serious_min_months=None,
    review_working_days=10,
    reminder_working_days_before=1,
    escalation_working_days_after=[0, 3],
)
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)


def test_repair_windows() -> None:
    closed = window_for("serious", date(2026, 1, 15), date(2028, 1, 15), LUOYANG)
    assert (closed.repairable, closed.opens_on, closed.closes_at) == (False, None, expiry_moment(date(2028, 1, 15)))
    # Serious records repairable with no minimum period: from the day they are recorded.
    anytime = LUOYANG.model_copy(update={"serious_repairable": True, "serious_min_months": None})
    assert window_for("serious", date(2026, 1, 15), date(2028, 1, 15), anytime).opens_on == date(2026, 1, 15)


def application(**kw):  # type: ignore[no-untyped-def]
    values = {
        "record_subject_id": "S",
        "applicant_id": "S",
        "commitment": "今后严格遵守政府采购法律法规",
        "status": "in_force",
        "severity": "general",
        "recorded_on": date(2026, 1, 15),
        "valid_until": date(2027, 1, 15),
        "under_objection": None,
        "open_application": None,
        "terms": LUOYANG,
        "now": NOW,
    }
    return judge_application(**(values | kw))


def test_repair_refusals_in_full() -> None:
    assert application() is None
    assert application(applicant_id="T") == Refusal(
        "not_your_record", "only the record's subject may apply for its repair"
    )
    assert application(commitment="  ") == Refusal(
        "commitment_required", "a written commitment (书面承诺) is required (001 Art. 20)"
    )
    assert application(severity="serious", valid_until=date(2028, 1, 15)) == Refusal(
        "not_repairable", "a serious record is not repairable under policy luoyang-2021", {"severity": "serious"}
    )
    assert application(under_objection="apl-1") == Refusal(
        "record_under_appeal", "the record is under appeal apl-1", {"appeal_id": "apl-1"}
    )
    assert application(open_application="rep-1") == Refusal(
        "application_open", "application rep-1 for this record is still open", {"application_id": "rep-1"}
    )


def test_repair_timing_refusals_in_full() -> None:
    common = {"severity": "general", "recorded_on": date(2026, 1, 15), "terms": LUOYANG}
    late = datetime(2027, 1, 16, 0, 0, tzinfo=SHANGHAI)
    assert judge_timing(status="in_force", valid_until=date(2027, 1, 15), now=late, **common) == Refusal(
        "record_expired", "the record was in force through 2027-01-15"
    )
    refused = judge_timing(status="withdrawn", valid_until=date(2027, 1, 15), now=NOW, **common)
    assert refused is not None and refused.code != "" and refused.message and refused.extra == {}
    unknown = judge_timing(status="archived", valid_until=date(2027, 1, 15), now=NOW, **common)
    assert unknown == Refusal("record_not_in_force", "the record is archived")
