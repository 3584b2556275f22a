"""Outbound events of the repair service on `credit.applications` (added to the contract): a repair
window opened (`repair.opened.v1`) and every change of an application (`repair.changed.v1`).
Keyed by the subject id, like every event about a subject. Neither carries the evidence nor the
commitment text (the subject's own documents), only their presence."""

from datetime import datetime

from services.common.cloudevents import build_event
from services.common.lawdates import iso
from services.common.messaging import OutboundEvent
from services.common.topics import APPLICATIONS, REPAIR_CHANGED, REPAIR_OPENED

SOURCE = "urn:credit:repair"


def opened_event(window: dict, record: dict, *, now: datetime) -> OutboundEvent:
    data = {
        "record_id": window["record_id"],
        "record_version": window["record_version"],
        "subject": record["subject"],
        "region": window["region"],
        "behaviour_code": record["behaviour_code"],
        "severity": record["severity"],
        "recorded_on": iso(record["recorded_on"]),
        "valid_until": iso(record["valid_until"]),
        "opens_on": iso(window["opens_on"]),
        "closes_at": iso(window["closes_at"]),
        "status": "open",
    }
    return OutboundEvent(
        topic=APPLICATIONS,
        key=window["subject_id"],
        event=build_event(
            type=REPAIR_OPENED,
            source=SOURCE,
            subject=window["record_id"],
            id=f"{window['record_id']}:repair-opened:v{window['record_version']}",
            time=now,
            data=data,
        ),
    )


def application_data(row: dict) -> dict:
    return {
        "application_id": row["id"],
        "record_id": row["record_id"],
        "version": row["version"],
        "state": row["state"],
        "code": row["code"],
        "reason": row["reason"],
        "opinion": row["opinion"],
        "task_id": row["task_id"],
        "subject": {"type": row["subject_type"], "id": row["subject_id"]},
        "applicant": row["applicant"],
        "region": row["region"],
        "evidence_count": len(row["evidence"]),
        "submitted_at": iso(row["submitted_at"]),
        "changed_at": iso(row["updated_at"]),
    }


def changed_event(row: dict, *, now: datetime) -> OutboundEvent:
    return OutboundEvent(
        topic=APPLICATIONS,
        key=row["subject_id"],
        event=build_event(
            type=REPAIR_CHANGED,
            source=SOURCE,
            subject=row["id"],
            # One event per version of the application: a republished outbox row keeps its id.
            id=f"{row['id']}:v{row['version']}",
            time=now,
            data=application_data(row),
        ),
    )
