"""The case officers' work queue over HTTP (CONTRACT §2): finance departments only, each sees the
tasks of its region and of the regions under it."""

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Integer, and_, case, func, select

from services.casework import actions, store
from services.casework.models import TASKS_T
from services.casework.queue import SORTS, order_by, overdue_on, search_clause, signal_clause, week_ends
from services.casework.schemas import StatementFiled, TaskCounts, TaskDetail, TaskPage
from services.casework.visibility import OPEN_STATES, overdue_clause, task_view, visible, visible_clause
from services.common.auth import Principal, Role, require_roles
from services.common.documented import typed
from services.common.identifiers import is_division_code
from services.common.lawdates import local_date
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from workflows.human_task.inputs import TaskKind

log = structlog.get_logger(__name__)
router = APIRouter(tags=["tasks"])
Officer = Annotated[Principal, Depends(require_roles(Role.FINANCE_OFFICER, Role.SUPERVISOR))]
Subject = Annotated[Principal, Depends(require_roles(Role.SUBJECT))]
Rt = RuntimeDep
SIGNAL_TIMEOUT_SECONDS = 5


class Completion(BaseModel):
    """`decision` and `reason`, plus at top level what the decision needs (CONTRACT §2):
    determination: `determine` {determination}, `record_general` {behaviour_code}, `dismiss`;
    repair_review: `approve` {opinion?}, `reject`; appeal_review: `correct` {behaviour_code?,
    determination?; none withdraws the record}, `uphold`; push_failure: `retry`, `acknowledge`."""

    model_config = ConfigDict(extra="allow")
    decision: str
    reason: str | None = None


def _today() -> tuple[datetime, date]:
    now = datetime.now(UTC)
    return now, local_date(now)


@router.get("/v1/tasks", **typed(TaskPage))
async def list_tasks(
    p: Officer,
    rt: Rt,
    kind: TaskKind | None = None,
    state: Literal["open", "claimed", "completed", "cancelled", "active"] | None = Query(
        default=None, description="`active`: open or claimed"
    ),
    region: str | None = None,
    assignee: str | None = Query(default=None, max_length=200),
    overdue: bool | None = None,
    escalated: bool | None = None,
    record_id: str | None = Query(default=None, max_length=64),
    signal: bool | None = Query(default=None, description="true: only the tasks a signal opened (issue 14)"),
    q: str | None = Query(
        default=None, min_length=1, max_length=100, description="part of the task id, subject id (USCC) or title"
    ),
    sort: Literal[SORTS] = Query(default="due_on", description="a column; `-` first: descending"),  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """The queue, by due date (then priority, 0 first), or by the column `sort` names."""
    now, today = _today()
    query = select(TASKS_T).where(visible_clause(p))
    if q is not None and q.strip():
        query = query.where(search_clause(q.strip()))
    if kind:
        query = query.where(TASKS_T.c.kind == kind)
    if state == "active":
        query = query.where(TASKS_T.c.state.in_(OPEN_STATES))
    elif state:
        query = query.where(TASKS_T.c.state == state)
    if region is not None:
        if not is_division_code(region):
            raise Problem(422, "invalid_identifier", "Invalid region", f"{region!r} is not a division code")
        query = query.where(TASKS_T.c.region == region)
    if assignee is not None:
        query = query.where(TASKS_T.c.assignee == assignee)
    if overdue is not None:
        query = query.where(overdue_clause(today) if overdue else ~overdue_clause(today))
    if escalated is not None:
        query = query.where(TASKS_T.c.escalation_level > 0 if escalated else TASKS_T.c.escalation_level == 0)
    if record_id is not None:
        query = query.where(TASKS_T.c.record_id == record_id)
    if signal is not None:
        query = query.where(signal_clause() if signal else ~signal_clause())
    async with rt.engine.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(query.subquery()))
        rows = await conn.execute(query.order_by(*order_by(sort)).limit(limit).offset(offset))
        items = [task_view(dict(r._mapping), today) for r in rows]
    return {"total": total, "limit": limit, "offset": offset, "items": items, "as_of": today.isoformat()}


@router.get("/v1/tasks/counts", **typed(TaskCounts))
async def task_counts(p: Officer, rt: Rt) -> dict:
    """Open and overdue tasks per officer and per region (Xuchang #8: the ranking), of the tasks
    the caller sees. `open` counts open and claimed tasks."""
    _, today = _today()
    active = TASKS_T.c.state.in_(OPEN_STATES)
    late = overdue_clause(today)

    def n(cond: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0).cast(Integer)

    async with rt.engine.connect() as conn:
        officers = await conn.execute(
            select(
                TASKS_T.c.assignee,
                n(active).label("open"),
                n(late).label("overdue"),
                n(TASKS_T.c.state == "completed").label("completed"),
            )
            .where(visible_clause(p), TASKS_T.c.assignee.is_not(None))
            .group_by(TASKS_T.c.assignee)
            .order_by(TASKS_T.c.assignee)
        )
        regions = await conn.execute(
            select(
                TASKS_T.c.region,
                n(active).label("open"),
                n(TASKS_T.c.state == "open").label("unclaimed"),
                n(late).label("overdue"),
                n(and_(active, TASKS_T.c.escalation_level > 0)).label("escalated"),
            )
            .where(visible_clause(p))
            .group_by(TASKS_T.c.region)
            .order_by(TASKS_T.c.region)
        )
        kinds = await conn.execute(
            select(
                TASKS_T.c.kind,
                n(active).label("open"),
                n(late).label("overdue"),
                n(and_(active, TASKS_T.c.escalation_level > 0)).label("escalated"),
            )
            .where(visible_clause(p))
            .group_by(TASKS_T.c.kind)
            .order_by(TASKS_T.c.kind)
        )
        weeks = week_ends(today)
        trend = (
            await conn.execute(
                select(*(n(overdue_on(day)).label(f"w{i}") for i, day in enumerate(weeks))).where(visible_clause(p))
            )
        ).one()
        by_officer = [dict(r._mapping) for r in officers]
        by_region = [dict(r._mapping) for r in regions]
        by_kind = [dict(r._mapping) for r in kinds]
    return {
        "by_officer": by_officer,
        "by_region": by_region,
        # Issue 22: the console's charts — open, overdue and escalated per kind, and how many tasks
        # were overdue at the end of each of the last 8 weeks (oldest first; the last is today).
        "by_kind": by_kind,
        "overdue_weeks": [{"on": day.isoformat(), "overdue": int(v or 0)} for day, v in zip(weeks, trend, strict=True)],
        "as_of": today.isoformat(),
    }


@router.get("/v1/tasks/{task_id}", **typed(TaskDetail))
async def get_task(task_id: str, p: Officer, rt: Rt) -> dict:
    """A task with what it is about (links to the report or record: finance only) and its audit trail."""
    _, today = _today()
    async with rt.engine.connect() as conn:
        task = await store.load(conn, task_id)
        if task is None or not visible(p, task):
            raise Problem(404, "not_found", "No such task", f"no task {task_id!r} in your regions")
        return {**task_view(task, today, full=True), "audit": await store.trail(conn, task_id)}


class Statement(BaseModel):
    statement: str = Field(min_length=1, max_length=4000)


@router.post(
    "/v1/intended-determinations/{request_id}/statement",
    status_code=201,
    tags=["intended determinations"],
    **typed(StatementFiled, 201),
)
async def file_statement(request_id: str, p: Subject, rt: Rt, body: Annotated[Statement, Body()]) -> dict:
    """Issue 16 point 5 (国办发〔2020〕49号 (八)): the subject states its case on the intended serious
    determination it was notified of (determination.intended.v1), its own only, once, within the
    policy's window. The statement goes to the officer's listing_confirmation task, whose confirm
    then lists, or withdraw ends it; with a statement filed the window's passing lists nothing."""
    now, _ = _today()
    text = body.statement.strip()
    if not text:
        raise Problem(422, "invalid_request", "Empty statement", "`statement` says something")
    async with rt.engine.begin() as conn:
        task = await actions.file_statement(conn, request_id, p, text, now=now)
    return {"request_id": request_id, "task_id": task["id"], "statement": task["context"]["statement"]}


@router.post("/v1/tasks/{task_id}/claim", **typed(TaskDetail))
async def claim_task(task_id: str, p: Officer, rt: Rt) -> dict:
    """Take the task: until unclaimed, only you may decide it."""
    now, today = _today()
    async with rt.engine.begin() as conn:
        task = await actions.claim(conn, task_id, p, now=now)
    return task_view(task, today, full=True)


@router.post("/v1/tasks/{task_id}/unclaim", **typed(TaskDetail))
async def unclaim_task(task_id: str, p: Officer, rt: Rt) -> dict:
    """Give the task back to the queue (the assignee, or a supervisor)."""
    now, today = _today()
    async with rt.engine.begin() as conn:
        task = await actions.unclaim(conn, task_id, p, now=now)
    return task_view(task, today, full=True)


@router.post("/v1/tasks/{task_id}/complete", **typed(TaskDetail))
async def complete_task(
    task_id: str, p: Officer, rt: Rt, request: Request, body: Annotated[Completion, Body()]
) -> dict:
    """Decide a task you have claimed. The decision, its audit entry and task.completed.v1 are
    stored together; the task's workflow then gets it as a signal (retried until delivered)."""
    now, today = _today()
    payload = body.model_dump()  # extra fields included
    async with rt.engine.begin() as conn:
        task, _ = await actions.complete(conn, task_id, p, payload, now=now)
    rt.relay.wake()
    delivered = False
    if rt.commands is not None:
        try:
            # Tried at once, so the answer can say it reached the workflow; else the relay goes on.
            await asyncio.wait_for(rt.commands.deliver_once([task["workflow_id"]]), SIGNAL_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - stored already: the command relay sends it later
            log.warning("decision stored, signal deferred", task_id=task_id, error=repr(exc))
            rt.wake_commands()
        async with rt.engine.connect() as conn:
            stored = await store.load(conn, task_id)
        delivered = stored is not None and not stored["signal_pending"] and stored["signal_error"] is None
    return task_view({**task, "signal_pending": not delivered}, today, full=True)
