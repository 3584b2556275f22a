"""The events casework owes `credit.tasks` (CONTRACT §1), keyed by the task's subject id. Ids derive
from the task and the step, so a retried activity or request can only ever write the same event.
The task's context (the report, the application) stays out of them: tooling acts on ids."""

import hashlib
from datetime import datetime

import orjson

from services.common.cloudevents import build_event
from services.common.messaging import OutboundEvent
from services.common.topics import (
    DETERMINATION_INTENDED,
    TASK_COMPLETED,
    TASK_CREATED,
    TASK_ESCALATED,
    TASK_REPLANNED,
    TASKS,
)

SOURCE = "urn:credit:casework"


def _task_ref(task: dict) -> dict:
    return {
        "task_id": task["id"],
        "kind": task["kind"],
        "region": task["region"],
        "subject": task["subject"],
        "record_id": task["record_id"],
        "due_on": task["due_on"].isoformat(),
        "provisional": bool(task.get("due_provisional")),  # due_on counted on a provisional calendar
    }


def _event(type_: str, task: dict, suffix: str, data: dict, now: datetime) -> OutboundEvent:
    return OutboundEvent(
        topic=TASKS,
        key=task["subject_id"],
        event=build_event(
            type=type_, source=SOURCE, subject=task["id"], id=f"{task['id']}:{suffix}", time=now, data=data
        ),
    )


def task_created(task: dict, now: datetime) -> OutboundEvent:
    data = {
        **_task_ref(task),
        "state": task["state"],
        "title": task["title"],
        "opened_on": task["opened_on"].isoformat(),
        "priority": task["priority"],
        "alarms": task["alarms"],
        "workflow_id": task["workflow_id"],
        "created_at": task["created_at"].isoformat(),
    }
    return _event(TASK_CREATED, task, "created", data, now)


def task_escalated(task: dict, alarm: dict, now: datetime) -> OutboundEvent:
    """A reminder (kind `reminder`, level 0) or an escalation (kind `escalation`, level >= 1)."""
    data = {
        **_task_ref(task),
        "task_kind": task["kind"],
        "kind": alarm["kind"],
        "level": alarm["level"],
        "to_region": alarm["to_region"],
        "at": alarm["at"],
        "alarm_provisional": bool(alarm.get("provisional")),
        "assignee": task["assignee"],
    }
    return _event(TASK_ESCALATED, task, f"{alarm['kind']}:{alarm['level']}", data, now)


def task_replanned(task: dict, reason: str, now: datetime) -> OutboundEvent:
    """The due date or an alarm moved (never earlier) when a year's holiday arrangement arrived.
    The id derives from the new plan: a retried activity writes the same event."""
    data = {**_task_ref(task), "task_kind": task["kind"], "alarms": task["alarms"], "reason": reason}
    digest = hashlib.sha256(orjson.dumps([data["due_on"], data["provisional"], task["alarms"]])).hexdigest()[:16]
    return _event(TASK_REPLANNED, task, f"replanned:{digest}", data, now)


def task_completed(task: dict, now: datetime) -> OutboundEvent:
    """At a decision, and at a cancellation (`cancelled` true, no decision)."""
    decision = task["decision"] or {}
    data = {
        **_task_ref(task),
        "cancelled": task["state"] == "cancelled",
        "cancelled_reason": task["cancelled_reason"],
        "decision": decision.get("decision"),
        "reason": decision.get("reason"),
        "fields": decision.get("fields", {}),
        "decided_by": decision.get("decided_by"),
        "completed_at": task["completed_at"].isoformat() if task["completed_at"] else None,
    }
    return _event(TASK_COMPLETED, task, "completed", data, now)


def determination_intended(task: dict, now: datetime) -> OutboundEvent:
    """Issue 16 point 5, 国办发〔2020〕49号 (八): the notice to the subject, when its listing_confirmation
    task opens, of the intended serious determination: the reasons (事由), the basis (依据) and its
    rights (依法享有的权利: to state its case, here by `POST /v1/intended-determinations/{request_id}/statement`,
    within `statement_window_days` calendar days until `statement_due`, or, where the department
    set no window, until the officer decides)."""
    context = task["context"]
    request = context.get("request") or {}
    intended = context.get("intended") or {}
    determination = (intended.get("fields") or {}).get("determination") or {}
    behaviour = request.get("behaviour") or {}
    data = {
        **_task_ref(task),
        "request_id": request.get("request_id"),
        "behaviour_code": request.get("behaviour_code"),
        "reasons": {
            "behaviour": behaviour,
            "occurred_on": request.get("occurred_on"),
            "reason": intended.get("reason"),
        },
        "basis": {
            "determination": determination,
            "legal_basis": determination.get("legal_basis") or behaviour.get("legal_basis"),
        },
        "rights": {
            "statement": f"/v1/intended-determinations/{request.get('request_id')}/statement",
            "statement_window_days": context.get("statement_window_days"),
            "statement_due": context.get("statement_due"),
        },
    }
    return _event(DETERMINATION_INTENDED, task, "intended", data, now)
