"""Who sees a task, and what a task looks like over HTTP. A task is visible to the finance
departments of its region and of the regions above it (Principal.covers_region); a supervisor also
sees the tasks escalated to its region."""

from datetime import date

from sqlalchemy import ColumnElement, and_, or_

from services.casework.models import TASKS_T
from services.common.auth import Principal, Role
from services.common.identifiers import division_level

PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6}
OPEN_STATES = ("open", "claimed")


def _prefix(region: str) -> str:
    return region[: PREFIX_LENGTH[division_level(region)]]


def visible(p: Principal, task: dict) -> bool:
    if p.covers_region(task["region"]):
        return True
    to = task.get("escalated_to_region")
    return p.role == Role.SUPERVISOR and isinstance(to, str) and bool(to) and p.covers_region(to)


def visible_clause(p: Principal) -> ColumnElement[bool]:
    """The SQL of `visible` (the same prefixes as identifiers.division_covers)."""
    prefix = _prefix(p.region)
    clause = TASKS_T.c.region.startswith(prefix, autoescape=True)
    if p.role == Role.SUPERVISOR:
        clause = or_(clause, TASKS_T.c.escalated_to_region.startswith(prefix, autoescape=True))
    return clause


def overdue_clause(today: date) -> ColumnElement[bool]:
    return and_(TASKS_T.c.state.in_(OPEN_STATES), TASKS_T.c.due_on < today)


def is_overdue(task: dict, today: date) -> bool:
    return task["state"] in OPEN_STATES and task["due_on"] < today


def links(task: dict) -> dict:
    """Where the officer reads what the task is about, through the one API (finance only there):
    casework never copies evidence."""
    out = {}
    if task["kind"] == "determination":
        out["report"] = f"/v1/determinations/{task['id']}"
    request_id = ((task["context"] or {}).get("request") or {}).get("request_id")
    if task["kind"] == "listing_confirmation" and isinstance(request_id, str):
        # The determination it confirms: its record_id once listed (issue 22: link what a decision made).
        out["report"] = f"/v1/determinations/{request_id}"
    if task["record_id"]:
        out["record"] = f"/v1/records/{task['record_id']}"
    for name, path in (task["context"].get("links") or {}).items():
        if isinstance(path, str) and path.startswith("/v1/"):
            out.setdefault(name, path)
    return out


def task_view(task: dict, today: date, *, full: bool = False) -> dict:
    body = {
        "id": task["id"],
        "kind": task["kind"],
        "state": task["state"],
        "region": task["region"],
        "title": task["title"],
        "subject": task["subject"],
        "record_id": task["record_id"],
        "opened_on": task["opened_on"].isoformat(),
        "due_on": task["due_on"].isoformat(),
        # The due date was counted on a provisional calendar (a year not announced yet): real, but it
        # may move later (never earlier) when the official arrangement is installed.
        "provisional": bool(task.get("due_provisional")),
        "overdue": is_overdue(task, today),
        "reminded": task["reminded_at"] is not None,
        "escalation_level": task["escalation_level"],
        "escalated_to_region": task["escalated_to_region"],
        "assignee": task["assignee"],
        "priority": task["priority"],
        "created_at": task["created_at"].isoformat(),
        "completed_at": task["completed_at"].isoformat() if task["completed_at"] else None,
        "decision": task["decision"],
        "cancelled_reason": task["cancelled_reason"],
        "links": links(task),
    }
    if full:
        body |= {
            "context": task["context"],
            "alarms": task["alarms"],
            "excluded_officers": task["excluded_officers"],
            "workflow_id": task["workflow_id"],
            "decision_delivered": task["state"] == "completed" and not task["signal_pending"],
        }
    return body
