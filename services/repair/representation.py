"""What GET /v1/repairs answers: an application with its decision and history, and the repair
window of a record (as the workflow last stored it, or as the rule computes it before that)."""

from datetime import datetime

from services.common.lawdates import iso
from services.common.policy import policy_for
from services.common.record_replica import ReplicaRecord
from workflows.repair.rules import judge_timing, terms_from, window_for


def application_view(row: dict) -> dict:
    return {
        "id": row["id"],
        "record_id": row["record_id"],
        "state": row["state"],
        "code": row["code"],
        "reason": row["reason"],
        "opinion": row["opinion"],
        "task_id": row["task_id"],
        "decided_by": row["decided_by"],
        "subject": {"type": row["subject_type"], "id": row["subject_id"]},
        "region": row["region"],
        "applicant": row["applicant"],
        "commitment": row["commitment"],
        "evidence": row["evidence"],
        "history": row["history"],
        "version": row["version"],
        "submitted_at": iso(row["submitted_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def window_view(record: ReplicaRecord, stored: dict | None, *, now: datetime) -> dict:
    """The stored window if the workflow has one; the rule's answer for every record otherwise
    (e.g. a serious record under Luoyang: not repairable, and no workflow)."""
    terms = terms_from(policy_for(record.region, record.recorded_on))
    window = window_for(record.severity, record.recorded_on, record.valid_until, terms)
    refusal = judge_timing(
        status=record.status,
        severity=record.severity,
        recorded_on=record.recorded_on,
        valid_until=record.valid_until,
        terms=terms,
        now=now,
    )
    view = {
        "state": stored["state"] if stored else ("closed" if not window.repairable else "pending"),
        "repairable": window.repairable,
        "opens_on": iso(window.opens_on),
        "closes_at": iso(window.closes_at),
        "reason": stored["reason"] if stored else "",
        "policy_version": terms.policy_version,
        # May the subject apply now, by the rule on today's date (the workflow has the last word).
        "may_apply_now": refusal is None,
        "refusal": None if refusal is None else {"code": refusal.code, "message": refusal.message, **refusal.extra},
    }
    if stored:
        view["updated_at"] = iso(stored["updated_at"])
    return view
