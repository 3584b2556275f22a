"""What a case officer does to a task: claim, unclaim, complete. Each runs inside the caller's
transaction with the task row locked, so two officers are served one after the other, and writes
its audit entry (and, for a decision, task.completed.v1) in that same transaction."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.casework import events, store
from services.casework.commands import decide_command
from services.casework.decisions import validate_completion
from services.casework.models import COMMANDS, MESSAGING
from services.casework.visibility import visible
from services.common.auth import Principal, Role
from services.common.commands import write_commands
from services.common.lawdates import local_date
from services.common.messaging import write_outbox
from services.common.policy import policy_for
from services.common.problems import Problem
from workflows.human_task.inputs import TaskDecision

CLOSED = ("completed", "cancelled")


# Decisions of a determination task that make a record.
RECORDING_DECISIONS = frozenset({"determine", "record_general"})


async def _task_for(conn: AsyncConnection, task_id: str, p: Principal) -> dict:
    task = await store.load(conn, task_id, lock=True)
    # Not visible answers as not there: task ids must not be probed across regions.
    if task is None or not visible(p, task):
        raise Problem(404, "not_found", "No such task", f"no task {task_id!r} in your regions")
    if p.sub in task["excluded_officers"]:
        raise Problem(
            403,
            "conflict_of_interest",
            "Conflict of interest",
            "you are excluded from this task (e.g. you recorded it)",
        )
    if task["state"] in CLOSED:
        raise Problem(409, "task_closed", "Task closed", f"the task is {task['state']}", state=task["state"])
    return task


async def claim(conn: AsyncConnection, task_id: str, p: Principal, *, now: datetime) -> dict:
    task = await _task_for(conn, task_id, p)
    if task["state"] == "claimed":
        if task["assignee"] == p.sub:
            return task  # claiming one's own task again changes nothing
        raise Problem(409, "already_claimed", "Already claimed", "another officer works on this task")
    task = await store.change(conn, task, state="claimed", assignee=p.sub, assignee_org=p.org, claimed_at=now)
    await store.audit(conn, task_id, at=now, actor=p.sub, role=p.role.value, action="claimed", details={"org": p.org})
    return task


async def unclaim(conn: AsyncConnection, task_id: str, p: Principal, *, now: datetime) -> dict:
    """The assignee gives the task back; a supervisor may take it from an absent officer."""
    task = await _task_for(conn, task_id, p)
    if task["state"] != "claimed":
        raise Problem(409, "not_claimed", "Not claimed", "the task is not claimed")
    if task["assignee"] != p.sub and p.role != Role.SUPERVISOR:
        raise Problem(403, "not_assignee", "Not the assignee", "only the assignee or a supervisor may unclaim it")
    previous = task["assignee"]
    task = await store.change(conn, task, state="open", assignee=None, assignee_org=None, claimed_at=None)
    await store.audit(
        conn, task_id, at=now, actor=p.sub, role=p.role.value, action="unclaimed", details={"assignee": previous}
    )
    return task


async def complete(
    conn: AsyncConnection, task_id: str, p: Principal, body: dict, *, now: datetime
) -> tuple[dict, TaskDecision]:
    task = await _task_for(conn, task_id, p)
    if task["state"] != "claimed":
        raise Problem(409, "not_claimed", "Not claimed", "claim the task before deciding it")
    if task["assignee"] != p.sub:
        raise Problem(403, "not_assignee", "Not the assignee", "another officer has claimed this task")
    decision, reason, fields = validate_completion(task, body, today=local_date(now))
    if task["kind"] == "determination" and decision in RECORDING_DECISIONS:
        if not policy_for(task["region"], local_date(now)).may_record(p.org):
            # 001 Art. 17: a province's officer may supervise and claim, but 市、县财政部门 record.
            raise Problem(
                403,
                "not_authorised",
                "Not authorised",
                f"the finance department {p.org} is not a city or county department: it may not record (001 Art. 17)",
            )
    if task["kind"] == "listing_confirmation" and decision == "confirm":
        statement_window_open(task, now)
    signal = TaskDecision(
        task_id=task_id,
        decision=decision,
        reason=reason,
        fields=fields,
        decided_by=p.sub,
        decided_by_org=p.org,
        decided_at=now,
    )
    task = await store.change(
        conn,
        task,
        state="completed",
        decision=signal.model_dump(mode="json"),
        completed_at=now,
        signal_pending=True,
    )
    await store.audit(
        conn,
        task_id,
        at=now,
        actor=p.sub,
        role=p.role.value,
        action="completed",
        details={"decision": decision, "reason": reason, "fields": fields, "org": p.org},
    )
    await write_outbox(conn, MESSAGING.outbox, [events.task_completed(task, now)])
    await write_commands(conn, COMMANDS, [decide_command(task_id, task["workflow_id"], signal)])
    return task, signal


def statement_window_open(task: dict, now: datetime) -> None:
    """Issue 16 point 5: a listing is confirmed after the subject had its say — a statement filed,
    or the policy's window over. Where the department set no window the officer judges when."""
    context = task.get("context") or {}
    due = context.get("statement_due")
    if context.get("statement") or context.get("window_closed_at") or not due:
        return
    if now < datetime.fromisoformat(due):
        raise Problem(
            409,
            "statement_window_open",
            "Statement window open",
            f"the subject may state its case until {due}: confirm after its statement or the window",
        )


async def file_statement(conn: AsyncConnection, request_id: str, p: Principal, text: str, *, now: datetime) -> dict:
    """Issue 16 point 5: the subject's statement (陈述申辩) on its own pending determination, attached
    to the listing_confirmation task the officer decides. One statement, within the window."""
    task_id = f"{request_id}:listing"
    task = await store.load(conn, task_id, lock=True)
    if task is None or task["kind"] != "listing_confirmation" or task["subject_id"] != p.org:
        # Another subject's determination is not shown to exist.
        raise Problem(404, "not_found", "Not found", f"no pending determination {request_id} of yours")
    context = task["context"] or {}
    if task["state"] not in ("open", "claimed"):
        raise Problem(409, "determination_closed", "Determination closed", "the determination was decided")
    due = context.get("statement_due")
    if context.get("window_closed_at") or (due and now >= datetime.fromisoformat(due)):
        raise Problem(409, "statement_window_closed", "Statement window closed", f"statements were taken until {due}")
    if context.get("statement"):
        raise Problem(409, "statement_filed", "Statement filed", "a statement was filed already")
    statement = {"text": text, "filed_at": now.isoformat(), "filed_by": p.sub, "org": p.org}
    task = await store.change(conn, task, context={**context, "statement": statement})
    await store.audit(
        conn,
        task_id,
        at=now,
        actor=p.sub,
        role=p.role.value,
        action="statement",
        details={"filed_at": statement["filed_at"]},
    )
    return task
