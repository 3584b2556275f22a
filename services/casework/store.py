"""Reading and writing task rows and their audit trail, inside the caller's transaction."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.casework.models import AUDIT_T, TASKS_T
from workflows.human_task.inputs import TaskAlarm, TaskPlan, TaskSpec, task_workflow_id

SYSTEM = "system"  # the actor of what the task's workflow does (open, remind, escalate, cancel)


async def load(conn: AsyncConnection, task_id: str, *, lock: bool = False) -> dict | None:
    """The task row; with `lock`, held until the end of the transaction (two officers claiming the
    same task are served one after the other). SQLite has one writer anyway."""
    q = select(TASKS_T).where(TASKS_T.c.id == task_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = (await conn.execute(q)).first()
    return dict(row._mapping) if row else None


async def change(conn: AsyncConnection, task: dict, **values: object) -> dict:
    await conn.execute(update(TASKS_T).where(TASKS_T.c.id == task["id"]).values(**values))
    return {**task, **values}


async def audit(
    conn: AsyncConnection, task_id: str, *, at: datetime, actor: str, role: str, action: str, details: dict
) -> None:
    await conn.execute(
        AUDIT_T.insert().values(task_id=task_id, at=at, actor=actor, role=role, action=action, details=details)
    )


async def trail(conn: AsyncConnection, task_id: str) -> list[dict]:
    rows = await conn.execute(select(AUDIT_T).where(AUDIT_T.c.task_id == task_id).order_by(AUDIT_T.c.id))
    return [
        {
            "at": r.at.isoformat(),
            "actor": r.actor,
            "role": r.role,
            "action": r.action,
            "details": r.details,
        }
        for r in rows
    ]


def new_row(spec: TaskSpec, plan: TaskPlan, now: datetime) -> dict:
    return {
        "id": spec.task_id,
        "kind": spec.kind,
        "region": spec.region,
        "state": "open",
        "subject": spec.subject,
        "subject_type": str(spec.subject.get("type", "")),
        "subject_id": str(spec.subject.get("id", "")),
        "record_id": spec.record_id,
        "title": spec.title[:300],
        "context": spec.context,
        "opened_on": plan.opened_on,
        "due_on": plan.due_on,
        "due_provisional": plan.due_provisional,
        "alarms": [a.model_dump(mode="json") for a in plan.alarms],
        "fired_alarms": [],
        "escalation_level": 0,
        "excluded_officers": list(spec.excluded_officers),
        "priority": spec.priority,
        "workflow_id": task_workflow_id(spec.task_id),
        "parent_workflow_id": spec.parent_workflow_id,
        "created_at": now,
        "signal_pending": False,
    }


def plan_of(task: dict) -> TaskPlan:
    return TaskPlan(
        task_id=task["id"],
        opened_on=task["opened_on"],
        due_on=task["due_on"],
        alarms=[TaskAlarm.model_validate(a) for a in task["alarms"]],
        due_provisional=bool(task.get("due_provisional")),
    )
