"""Pure rules of an objection (services/appeal/rules.py) and of the review's inputs and changes."""

from datetime import UTC, date, datetime

import pytest

from services.appeal.activities import changed_values
from services.appeal.commands import review_input
from services.appeal.deadline import review_due
from services.appeal.events import appeal_data, appeal_view
from services.appeal.rules import AppealApplication, judge, stored_applicant
from services.common.record_replica import ReplicaRecord
from tests.support.factories import evidence, new_uscc
from workflows.appeal.inputs import AppealChange, corrections_of, review_task_id

SUPPLIER = new_uscc()


def record(status: str = "in_force", subject_id: str = SUPPLIER, subject_type: str = "supplier") -> ReplicaRecord:
    return ReplicaRecord(
        record_id="rec-1",
        version=1,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_name="洛阳某某科技有限公司",
        behaviour_code="SUP-S-01",
        severity="serious",
        region="410322",
        recorded_on=date(2026, 11, 22),
        valid_until=date(2028, 11, 22),
        status=status,
        under_objection=None,
        data={},
    )


def application(**overrides: object) -> AppealApplication:
    values: dict = {
        "record_id": "rec-1",
        "applicant": {"type": "supplier", "id": SUPPLIER, "name": "洛阳某某科技有限公司"},
        "grounds": "合同已按期签订，见附件盖章合同",
        "evidence": evidence(1),
    }
    return AppealApplication.model_validate(values | overrides)


def test_an_appeal_of_the_subject_with_grounds_and_evidence_is_accepted() -> None:
    assert judge(application(), record(), None) is None


@pytest.mark.parametrize(
    ("overrides", "reason", "status"),
    [
        ({"grounds": "   "}, "grounds_required", 422),
        ({"evidence": []}, "evidence_required", 422),
        ({"applicant": {"type": "supplier", "id": new_uscc()}}, "not_subject", 403),
        ({"applicant": {"type": "agency", "id": SUPPLIER}}, "not_subject", 403),
    ],
)
def test_refusals(overrides: dict, reason: str, status: int) -> None:
    refused = judge(application(**overrides), record(), None)
    assert refused is not None and (refused.reason, refused.status) == (reason, status)


def test_grounds_and_evidence_are_judged_before_the_record() -> None:
    # 谁申请、谁举证: an application without proof is refused whatever it is about.
    refused = judge(application(evidence=[]), None, None)
    assert refused is not None and refused.reason == "evidence_required"
    refused = judge(application(), None, None)
    assert refused is not None and (refused.reason, refused.status) == ("record_not_found", 404)


def test_a_withdrawn_record_cannot_be_appealed() -> None:
    refused = judge(application(), record(status="withdrawn"), None)
    assert refused is not None and (refused.reason, refused.status) == ("record_not_in_force", 409)
    assert refused.extra == {"record_status": "withdrawn"}


@pytest.mark.parametrize("status", ["expired", "repaired"])
def test_point6_an_ended_record_may_still_be_objected_to(status: str) -> None:
    """Issue 16 point 6: an expired or repaired record is still in the subject's archive and may be
    wrong: its objection is accepted."""
    assert judge(application(), record(status=status), None) is None


def test_one_open_appeal_per_record() -> None:
    refused = judge(application(), record(), "apl-open")
    assert refused is not None and (refused.reason, refused.status) == ("appeal_open", 409)
    assert refused.extra == {"appeal_id": "apl-open"}


def test_applicant_without_type_or_name_is_the_records_subject() -> None:
    app = application(applicant={"id": SUPPLIER})
    assert judge(app, record(), None) is None
    assert stored_applicant(app, record()) == {"type": "supplier", "id": SUPPLIER, "name": "洛阳某某科技有限公司"}


def test_only_the_correctable_fields_of_a_decision_are_kept() -> None:
    fields = {"behaviour_code": "SUP-G-02", "status": "in_force", "determination": None, "valid_until": "2030-01-01"}
    assert corrections_of(fields) == {"behaviour_code": "SUP-G-02"}
    assert corrections_of({}) == {}  # withdraw


def test_review_rounds_have_their_own_task() -> None:
    assert review_task_id("apl-1", 1) == "review-apl-1"
    assert review_task_id("apl-1", 2) == "review-apl-1-2"


def test_a_decision_frees_the_record_and_keeps_the_reason() -> None:
    at = datetime(2026, 12, 1, 2, tzinfo=UTC)
    change = AppealChange(
        appeal_id="apl-1",
        version=3,
        state="corrected",
        task_id="review-apl-1",
        decision="correct",
        reason="合同签订日期证据属实",
        decided_by="officer-b",
        decided_at=at,
        record_version=3,
        record_status="withdrawn",
    )
    values = changed_values(change, now=at)
    assert values["open_record_id"] is None and values["state"] == "corrected" and values["version"] == 3
    assert values["decision"] == {
        "decision": "correct",
        "fields": {},
        "decided_by": "officer-b",
        "decided_at": at.isoformat(),
    }
    assert values["outcome"] == {"record_version": 3, "record_status": "withdrawn", "note": ""}
    under_review = changed_values(AppealChange(appeal_id="apl-1", version=2, state="under_review", task_id="t"), now=at)
    assert "open_record_id" not in under_review and "decision" not in under_review and "outcome" not in under_review


def test_event_and_view_never_carry_evidence_to_kafka() -> None:
    at = datetime(2026, 12, 1, 2, tzinfo=UTC)
    row = {
        "id": "apl-1",
        "version": 3,
        "state": "upheld",
        "record_id": "rec-1",
        "subject_type": "supplier",
        "subject_id": SUPPLIER,
        "subject_name": "洛阳某某科技有限公司",
        "applicant": {"type": "supplier", "id": SUPPLIER, "name": "洛阳某某科技有限公司"},
        "region": "410322",
        "task_id": "review-apl-1",
        "decision": {"decision": "uphold", "fields": {}, "decided_by": "officer-b", "decided_at": at.isoformat()},
        "reason": "证据不足",
        "outcome": {"record_version": 3, "record_status": "in_force", "note": ""},
        "evidence": evidence(2),
        "grounds": "理由",
        "filed_at": at,
        "updated_at": at,
        "filed_by": "subject-x",
    }
    data = appeal_data(row)
    assert (data["decision"], data["reason"], data["evidence_count"]) == ("uphold", "证据不足", 2)
    assert "evidence" not in data and "grounds" not in data and "officer-b" not in str(data)
    assert "decided_by" not in appeal_view(row, finance=False)
    assert appeal_view(row, finance=True)["decided_by"] == "officer-b"
    assert len(appeal_view(row, finance=False)["evidence"]) == 2


def test_appellant_is_told_the_review_due_date_in_working_days() -> None:
    # Luoyang: 20 calendar days from receipt (征信业管理条例 Art. 25). Filed Monday 2026-09-14
    # (Beijing): day 20 is 10-04, inside the National Day holiday, so the review is due on the
    # last working day before it, 09-30: 12 working days in 09-15..10-04 on 2026's official calendar
    # (Sunday 09-20 a 调休 working day, Friday 09-25 the Mid-Autumn holiday).
    due = review_due("410322", datetime(2026, 9, 14, 2, tzinfo=UTC))
    assert (due.due_on, due.working_days, due.provisional) == (date(2026, 9, 30), 12, False)
    # Filed 2027-12-20: counted through 2028, which has no official arrangement yet, so marked.
    assert review_due("410322", datetime(2027, 12, 20, 2, tzinfo=UTC)).provisional is True
    # The workflow's task gets exactly the working days the appellant was told (computed once).
    row = {
        "id": "apl-9",
        "record_id": "rec-9",
        "region": "410322",
        "subject_type": "supplier",
        "subject_id": SUPPLIER,
        "subject_name": "n",
        "applicant": {"type": "supplier", "id": SUPPLIER, "name": "n"},
        "grounds": "g",
        "evidence": evidence(1),
        "filed_at": datetime(2026, 9, 14, 2, tzinfo=UTC),
    }
    assert review_input(row).due_working_days == 12
    data = appeal_data(
        {**row, "version": 1, "state": "filed", "task_id": None, "decision": None, "reason": None, "outcome": None}
    )
    assert (data["review_due_on"], data["review_working_days"], data["review_due_provisional"]) == (
        "2026-09-30",
        12,
        False,
    )
