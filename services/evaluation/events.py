"""Outbound events of the evaluation service (CONTRACT §1), built from stored rows."""

from datetime import datetime

from services.common.catalogue import load_catalogue
from services.common.cloudevents import build_event
from services.common.lawdates import iso
from services.common.messaging import OutboundEvent
from services.common.topics import (
    DETERMINATION_REQUESTED,
    RECORDS,
    SUBJECT_STATUS_CHANGED,
    SUBJECTS,
    TASKS,
)

SOURCE = "urn:credit:evaluation"


def record_data(row: dict) -> dict:
    """Everything a mirror needs to act on a record, without its evidence (never public) and
    without the reporter's free-text description (it may name people)."""
    behaviour = load_catalogue().get(row["behaviour_code"])
    return {
        "record_id": row["id"],
        "version": row["version"],
        "status": row["status"],
        "subject": {"type": row["subject_type"], "id": row["subject_id"], "name": row["subject_name"]},
        "behaviour": {
            "code": row["behaviour_code"],
            "severity": row["severity"],
            "text": behaviour.text if behaviour else None,
            "legal_basis": behaviour.legal_basis if behaviour else None,
            "references": list(behaviour.references) if behaviour else [],
        },
        "severity": row["severity"],
        "region": row["region"],
        "project": row["project"],
        "reporter": {"type": row["reporter_type"], "id": row["reporter_id"], "name": row["reporter_name"]},
        "occurred_on": iso(row["occurred_on"]),
        "recorded_on": iso(row["recorded_on"]),
        "valid_until": iso(row["valid_until"]),
        "determination": row["determination"],
        "evidence_count": len(row["evidence"]),
        "policy_version": row["policy_version"],
        # Under objection while an appeal is open; the last decision (without its reasons, which may
        # name people: they are in the history, for finance and the subject).
        "appeal": _appeal_summary(row.get("appeal")),
        "resolution": _resolution_summary(row.get("resolution")),
    }


def _appeal_summary(appeal: dict | None) -> dict | None:
    return {"appeal_id": appeal["appeal_id"], "state": appeal["state"]} if appeal else None


def _resolution_summary(resolution: dict | None) -> dict | None:
    return {"kind": resolution["kind"], "decided_on": resolution["decided_on"]} if resolution else None


def record_event(event_type: str, row: dict, *, event_time: datetime) -> OutboundEvent:
    return OutboundEvent(
        topic=RECORDS,
        key=row["subject_id"],
        event=build_event(
            type=event_type,
            source=SOURCE,
            subject=row["id"],
            # One event per record version: a republished outbox row keeps its id.
            id=f"{row['id']}:v{row['version']}",
            time=event_time,
            data=record_data(row),
        ),
    )


def status_event(subject_id: str, snapshot: dict, *, event_time: datetime) -> OutboundEvent:
    key = f"{snapshot['subject']['type']}:{subject_id}"
    return OutboundEvent(
        topic=SUBJECTS,
        key=subject_id,
        event=build_event(
            type=SUBJECT_STATUS_CHANGED,
            source=SOURCE,
            subject=key,
            id=f"{key}:v{snapshot['version']}",
            time=event_time,
            data=snapshot,
        ),
    )


def determination_requested_event(task: dict, *, event_time: datetime) -> OutboundEvent:
    """A reported serious behaviour waits for the finance department of its region (CONTRACT §4);
    the casework service opens the task (id = request id). No evidence and no description on Kafka:
    the officer reads them through GET /v1/determinations/{id}."""
    report = task["report"]
    behaviour = load_catalogue().get(task["behaviour_code"])
    return OutboundEvent(
        topic=TASKS,
        key=report["subject"]["id"],
        event=build_event(
            type=DETERMINATION_REQUESTED,
            source=SOURCE,
            subject=task["id"],
            id=f"{task['id']}:requested",
            time=event_time,
            data={
                "request_id": task["id"],
                "region": task["region"],
                "subject": report["subject"],
                "behaviour_code": task["behaviour_code"],
                "behaviour": {
                    "code": task["behaviour_code"],
                    "severity": behaviour.severity if behaviour else None,
                    "text": behaviour.text if behaviour else None,
                    "legal_basis": behaviour.legal_basis if behaviour else None,
                    "references": list(behaviour.references) if behaviour else [],
                    # A signal's findings (signals service) for the officer; no evidence files.
                    **({"signal": report["signal"]} if report.get("signal") else {}),
                },
                "reporter": report["reporter"],
                "project": report["project"],
                "occurred_on": report["occurred_on"],
                "evidence_count": len(report.get("evidence") or []),
                "reported_at": task["created_at"].isoformat(),
            },
        ),
    )
