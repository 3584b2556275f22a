"""The pure rules of credit repair (workflows/repair/rules.py): when the window opens and closes
(Civil Code counting in Asia/Shanghai), serious records per policy, and the order of refusals."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.lawdates import SHANGHAI, expiry_moment, start_of_day
from services.common.policy import policy_for
from workflows.repair.rules import judge_application, judge_timing, terms_from, window_for

LUOYANG = terms_from(policy_for("410300", date(2026, 1, 15)))
# National rules from 2026-04-01 allow repair of serious records after a minimum period.
NATIONAL = LUOYANG.model_copy(update={"serious_repairable": True, "serious_min_months": 12, "policy_version": "nat"})


def timing(now: datetime, *, recorded_on: date = date(2026, 1, 15), severity: str = "general", **kw):  # type: ignore[no-untyped-def]
    values = {"status": "in_force", "valid_until": date(2027, 1, 15), "terms": LUOYANG} | kw
    return judge_timing(severity=severity, recorded_on=recorded_on, now=now, **values)


def at(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


def test_luoyang_terms_come_from_the_policy() -> None:
    assert (LUOYANG.general_wait_months, LUOYANG.serious_repairable, LUOYANG.review_working_days) == (6, False, 10)
    assert LUOYANG.escalation_working_days_after == [0, 3]


def test_point9_repair_opens_the_day_after_the_half_year() -> None:
    """Issue 16 point 9: recorded 2026-01-15, the half-year ends on 2026-07-15 (Civil Code Art.
    201-202, the corresponding day); "after half a year" (001 Art. 20) begins 2026-07-16."""
    window = window_for("general", date(2026, 1, 15), date(2027, 1, 15), LUOYANG)
    assert window.repairable and window.opens_on == date(2026, 7, 16)
    assert window.opens_at == start_of_day(date(2026, 7, 16))
    assert window.closes_at == expiry_moment(date(2027, 1, 15))
    assert timing(at(date(2026, 7, 15), 12)).code == "too_early"  # type: ignore[union-attr]


def test_a_running_workflows_old_terms_keep_the_old_window() -> None:
    # Inputs of workflows started before point 9 lack the flag: their replay must not change.
    old = LUOYANG.model_copy(update={"opens_day_after_wait": False})
    assert window_for("general", date(2026, 1, 15), date(2027, 1, 15), old).opens_on == date(2026, 7, 15)


def test_the_day_before_is_too_early_and_names_the_earliest_date() -> None:
    refusal = timing(at(date(2026, 7, 15), 12))
    assert refusal is not None and refusal.code == "too_early" and refusal.status == 409
    assert refusal.extra == {"earliest": "2026-07-16"}
    assert "2026-07-16" in refusal.message
    # One second before midnight in Shanghai.
    assert timing(at(date(2026, 7, 15), 23, 59, 59)).code == "too_early"  # type: ignore[union-attr]


def test_the_day_itself_is_accepted_from_midnight() -> None:
    assert timing(at(date(2026, 7, 16))) is None
    # 16:00 UTC on the 15th is midnight of the 16th in Shanghai: the legal date counts, not UTC's.
    assert timing(datetime(2026, 7, 15, 16, 0, tzinfo=UTC)) is None
    assert timing(datetime(2026, 7, 15, 15, 59, 59, tzinfo=UTC)).code == "too_early"  # type: ignore[union-attr]


def test_month_ends_clamp() -> None:
    # The half-year from 08-31 ends on 02-28 (clamped); the window opens on 03-01.
    assert window_for("general", date(2026, 8, 31), date(2027, 8, 31), LUOYANG).opens_on == date(2027, 3, 1)


def test_serious_records_are_not_repairable_under_luoyang() -> None:
    assert not window_for("serious", date(2026, 1, 15), date(2028, 1, 15), LUOYANG).repairable
    refusal = timing(at(date(2027, 6, 1)), severity="serious", valid_until=date(2028, 1, 15))
    assert refusal is not None and (refusal.code, refusal.status) == ("not_repairable", 422)


def test_serious_records_after_the_minimum_under_national_rules() -> None:
    kw = {"severity": "serious", "valid_until": date(2029, 1, 15), "terms": NATIONAL}
    assert timing(at(date(2027, 1, 15), 12), **kw).extra == {"earliest": "2027-01-16"}  # type: ignore[union-attr]
    assert timing(at(date(2027, 1, 16)), **kw) is None


def test_the_window_closes_when_the_record_expires() -> None:
    end = expiry_moment(date(2027, 1, 15))
    assert timing(end - timedelta(seconds=1)) is None
    assert timing(end).code == "record_expired"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("repaired", "already_repaired"),
        ("expired", "record_expired"),
        ("withdrawn", "record_withdrawn"),
        ("corrected", "record_corrected"),
        ("something_else", "record_not_in_force"),
    ],
)
def test_records_not_in_force_are_refused(status: str, code: str) -> None:
    refusal = timing(at(date(2026, 9, 1)), status=status)
    assert refusal is not None and (refusal.code, refusal.status) == (code, 409)


def application(**kw):  # type: ignore[no-untyped-def]
    values = {
        "record_subject_id": "S1",
        "applicant_id": "S1",
        "commitment": "承诺已整改",
        "status": "in_force",
        "severity": "general",
        "recorded_on": date(2026, 1, 15),
        "valid_until": date(2027, 1, 15),
        "under_objection": None,
        "open_application": None,
        "terms": LUOYANG,
        "now": at(date(2026, 9, 1), 10),
    } | kw
    return judge_application(**values)


def test_an_application_in_the_window_is_accepted() -> None:
    assert application() is None


@pytest.mark.parametrize(
    ("changes", "code", "status"),
    [
        ({"applicant_id": "S2"}, "not_your_record", 403),
        ({"commitment": "   "}, "commitment_required", 422),
        ({"applicant_id": "S2", "commitment": ""}, "not_your_record", 403),  # whose it is, first
        ({"commitment": "", "now": at(date(2026, 3, 1))}, "commitment_required", 422),
        ({"now": at(date(2026, 3, 1))}, "too_early", 409),
        ({"under_objection": "apl-1"}, "record_under_appeal", 409),
        ({"open_application": "rpa-1"}, "application_open", 409),
        ({"status": "repaired", "open_application": "rpa-1"}, "already_repaired", 409),
    ],
)
def test_refusals_and_their_order(changes: dict, code: str, status: int) -> None:
    refusal = application(**changes)
    assert refusal is not None and (refusal.code, refusal.status) == (code, status)
