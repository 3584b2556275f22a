"""The shapes of the work queue's answers, for the OpenAPI document (issue 22: every success response
typed). They document what views.task_view and the routes return; tests validate real answers
against them (tests/unit/test_casework_queue.py)."""

from services.common.documented import Documented as _Out
from workflows.human_task.inputs import TaskAlarm


class TaskSubject(_Out):
    type: str
    id: str
    name: str | None = None


class Task(_Out):
    """A task in the queue (views.task_view)."""

    id: str
    kind: str
    state: str  # open | claimed | completed | cancelled
    region: str
    title: str
    subject: TaskSubject
    record_id: str | None
    opened_on: str
    due_on: str  # the last day to decide
    provisional: bool  # due_on counted on the provisional calendar: may move later, never earlier
    overdue: bool
    reminded: bool
    escalation_level: int
    escalated_to_region: str | None
    assignee: str | None
    priority: int
    created_at: str
    completed_at: str | None
    decision: dict | None
    cancelled_reason: str | None
    links: dict[str, str]  # where to read what it is about, through the API (finance only)


class AuditEntry(_Out):
    at: str
    actor: str
    role: str
    action: str  # created | claimed | unclaimed | completed | reminded | escalated | cancelled | replanned
    details: dict


class TaskDetail(Task):
    """A task with what it is about, its plan of alarms and its audit trail (GET /v1/tasks/{id});
    claim, unclaim and complete answer the same without `audit`."""

    context: dict
    alarms: list[TaskAlarm]
    excluded_officers: list[str]
    workflow_id: str
    decision_delivered: bool
    audit: list[AuditEntry] = []


class TaskPage(_Out):
    total: int
    limit: int
    offset: int
    items: list[Task]
    as_of: str


class OfficerCount(_Out):
    assignee: str
    open: int
    overdue: int
    completed: int


class RegionCount(_Out):
    region: str
    open: int
    unclaimed: int
    overdue: int
    escalated: int


class KindCount(_Out):
    kind: str
    open: int
    overdue: int
    escalated: int


class OverdueOn(_Out):
    on: str
    overdue: int


class TaskCounts(_Out):
    by_officer: list[OfficerCount]
    by_region: list[RegionCount]
    by_kind: list[KindCount]
    overdue_weeks: list[OverdueOn]  # oldest first; the last is `as_of`
    as_of: str


class StatementFiled(_Out):
    request_id: str
    task_id: str
    statement: dict


class StatutoryDay(_Out):
    date: str
    festival: str


class CalendarYear(_Out):
    """A year's days off and 调休 working days, where they come from, and whether provisional."""

    year: int
    status: str  # official | provisional
    source: str
    version: int | None = None
    notice: str | None = None
    holidays: list[str]
    workdays: list[str]
    provisional: bool
    statutory_days: list[StatutoryDay]
    installed_by: str | None = None
    installed_at: str | None = None
