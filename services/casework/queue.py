"""Searching, sorting and charting the work queue (issue 22): the SQL behind `GET /v1/tasks?q=&sort=`
and the overdue trend of `GET /v1/tasks/counts`."""

from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, or_

from services.casework.models import TASKS_T
from services.common.lawdates import SHANGHAI
from services.common.schemas import SYSTEM_REPORTER_ID

# The columns the queue sorts by; `-` first: descending. Ties go by due date, priority, id.
COLUMNS = {
    "due_on": TASKS_T.c.due_on,
    "opened_on": TASKS_T.c.opened_on,
    "kind": TASKS_T.c.kind,
    "region": TASKS_T.c.region,
    "state": TASKS_T.c.state,
    "assignee": TASKS_T.c.assignee,
    "title": TASKS_T.c.title,
    "priority": TASKS_T.c.priority,
}
SORTS = tuple(name for column in COLUMNS for name in (column, "-" + column))
WEEKS = 8


def order_by(sort: str) -> list:
    name = sort.removeprefix("-")
    column = COLUMNS[name]
    first = column.desc() if sort.startswith("-") else column.asc()
    return [first, TASKS_T.c.due_on, TASKS_T.c.priority, TASKS_T.c.created_at, TASKS_T.c.id]


def search_clause(text: str) -> ColumnElement[bool]:
    """A task whose id, subject id (a USCC, in any case) or title (it names the subject) holds the
    text; the record id must match whole."""
    return or_(
        TASKS_T.c.id.contains(text, autoescape=True),
        TASKS_T.c.subject_id.contains(text.upper(), autoescape=True),
        TASKS_T.c.title.contains(text, autoescape=True),
        TASKS_T.c.record_id == text,
    )


def signal_clause() -> ColumnElement[bool]:
    """Tasks a signal opened (issue 14): collusion triage, and the determinations the signals service
    asked for (repeat complaints, commitments, referred collusion)."""
    return or_(
        TASKS_T.c.kind == "collusion_triage",
        and_(
            TASKS_T.c.kind == "determination",
            # Only the signals service reports as the system (evaluation refuses anyone else).
            TASKS_T.c.context[("request", "reporter", "id")].as_string() == SYSTEM_REPORTER_ID,
        ),
    )


def week_ends(today: date) -> list[date]:
    """Today and the same weekday of the 7 weeks before, oldest first."""
    return [today - timedelta(weeks=k) for k in range(WEEKS - 1, -1, -1)]


def overdue_on(day: date) -> ColumnElement[bool]:
    """A task that was overdue at the end of `day` (Beijing time): opened by then, past its last day,
    not completed by then and not cancelled. (A cancelled task's moment is not kept: it counts for
    no week — the trend can only understate.)"""
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    return and_(
        TASKS_T.c.opened_on <= day,
        TASKS_T.c.due_on < day,
        TASKS_T.c.state != "cancelled",
        or_(TASKS_T.c.completed_at.is_(None), TASKS_T.c.completed_at >= end),
    )
