"""What the appeal service tells the world about an appeal (appeal.changed.v1 on
credit.applications) and what its API shows. Grounds and evidence never go on Kafka: the event
carries the evidence count, and the reason of the decision, which the applicant is owed."""

from datetime import datetime

from services.appeal.deadline import shown_due
from services.common.cloudevents import build_event
from services.common.lawdates import iso
from services.common.messaging import OutboundEvent
from services.common.topics import APPEAL_CHANGED, APPLICATIONS

SOURCE = "urn:credit:appeal"


def appeal_data(row: dict) -> dict:
    decision = row["decision"] or {}
    outcome = row["outcome"] or {}
    return {
        "appeal_id": row["id"],
        "version": row["version"],
        "state": row["state"],
        "record_id": row["record_id"],
        "subject": {"type": row["subject_type"], "id": row["subject_id"], "name": row["subject_name"]},
        "applicant": row["applicant"],
        "region": row["region"],
        "task_id": row["task_id"],
        "decision": decision.get("decision"),
        "corrected_fields": decision.get("fields") or {},
        "reason": row["reason"],
        "decided_at": decision.get("decided_at"),
        "record_version": outcome.get("record_version"),
        "record_status": outcome.get("record_status"),
        "note": outcome.get("note") or "",
        "evidence_count": len(row["evidence"]),
        "filed_at": iso(row["filed_at"]),
        # Added (v1.1 adds fields, never renames): when the appellant may expect the decision.
        **shown_due(row).as_data(),
    }


def appeal_changed_event(row: dict, *, now: datetime) -> OutboundEvent:
    return OutboundEvent(
        topic=APPLICATIONS,
        key=row["subject_id"],
        event=build_event(
            type=APPEAL_CHANGED,
            source=SOURCE,
            subject=row["id"],
            # One event per version of the appeal: a republished outbox row keeps its id.
            id=f"{row['id']}:v{row['version']}",
            time=now,
            data=appeal_data(row),
        ),
    )


def appeal_view(row: dict, *, finance: bool) -> dict:
    """GET /v1/appeals/{id}: the applicant sees its grounds, its evidence and the decision with its
    reason; finance also sees who decided and who filed."""
    view = {
        **appeal_data(row),
        "grounds": row["grounds"],
        "evidence": row["evidence"],
        "updated_at": iso(row["updated_at"]),
    }
    if finance:
        view["decided_by"] = (row["decision"] or {}).get("decided_by")
        view["filed_by"] = row["filed_by"]
    return view
