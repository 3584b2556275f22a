"""A project's timeline from its facts: the handler of one procurement fact, a plain function of the
typed fact and the caller's transaction to an outcome (`accepted`, `rejected(reason)`), with no
Kafka in it, so it can run under any consumer frame.

- Each fact is stored once (by (source, id)); facts are accepted in any order.
- A stage's clock (deadlines.py) is opened by its starting fact and closed by its completing fact,
  whichever arrives first: a `contract.signed` before its `award.notified` is kept, and when the
  award arrives the clock is opened already closed, so the timeline settles to the same state as
  in order and no workflow is started for it.
- A fact that says something else than one already kept for the same contract (e.g. another
  signing time) is kept too and flagged (`conflicts_with`), never overwritten; the clock keeps the
  first fact that opened or closed it.
- An open clock is handed to Temporal through the dispatch table (start, and stop when closed)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.lawdates import local_date, start_of_day
from services.common.policy import NoPolicy, TaskRules, policy_for
from services.common.settings import get_settings
from services.common.sql import insert_rows
from services.common.workdays import RECKONER
from services.watch.deadlines import STAGE_EVENTS, Due, NoWatchPolicy, deadline_policy, due_for
from services.watch.events import NO_POLICY, Fact
from services.watch.models import CLOCKS, DISPATCH, FACTS
from workflows.clock_inputs import ClockInput, ClockStop


@dataclass(frozen=True)
class Outcome:
    kind: str  # accepted | rejected | duplicate
    reason: str | None = None
    message: str | None = None
    clocks_opened: int = 0
    clocks_closed: int = 0
    conflict: bool = False


def clock_id(fact: Fact, stage: str) -> str:
    # A project's contract is signed once per contract; every other stage runs per contract.
    contract = "" if stage == "contract_signing" else fact.contract_no
    return f"{fact.region}:{fact.project_code}:{stage}:{contract}"


def _starts(fact: Fact) -> list[str]:
    if fact.type == "invoice.received" and not fact.data.payable:
        return []  # 004 #18 counts from an invoice that is payable (满足合同约定支付条件的)
    return [s for s, (start, _) in STAGE_EVENTS.items() if start == fact.type]


def _ends(fact: Fact) -> list[str]:
    return [s for s, (_, end) in STAGE_EVENTS.items() if end == fact.type]


async def accept_fact(conn: AsyncConnection, fact: Fact, *, now: datetime) -> Outcome:
    """Store `fact` and move its project's clocks, in the caller's transaction."""
    try:
        deadline_policy().layers_for(fact.region, local_date(fact.at))
    except NoWatchPolicy as exc:
        return Outcome("rejected", NO_POLICY, str(exc))
    key = f"{fact.source}|{fact.id}"
    found = await conn.execute(select(FACTS.c.source).where(FACTS.c.source == fact.source, FACTS.c.event_id == fact.id))
    if found.first() is not None:
        return Outcome("duplicate")
    contradicted = await _contradicted(conn, fact)
    await insert_rows(
        conn,
        FACTS,
        [
            {
                "source": fact.source,
                "event_id": fact.id,
                "type": fact.type,
                "region": fact.region,
                "project_code": fact.project_code,
                "contract_no": fact.contract_no,
                "at": fact.at,
                "received_at": fact.received_at,
                "data": fact.data.model_dump(mode="json", exclude_none=True),
                "conflicts_with": contradicted,
            }
        ],
    )
    opened = closed = 0
    for stage in _starts(fact):
        opened += await _open(conn, fact, stage, key, now=now)
    for stage in _ends(fact):
        closed += await _close(conn, fact, stage, key, now=now)
    return Outcome("accepted", clocks_opened=opened, clocks_closed=closed, conflict=contradicted is not None)


async def _contradicted(conn: AsyncConnection, fact: Fact) -> str | None:
    """The fact already kept for the same contract and kind that says another time, if any."""
    rows = await conn.execute(
        select(FACTS.c.source, FACTS.c.event_id, FACTS.c.at).where(
            FACTS.c.region == fact.region,
            FACTS.c.project_code == fact.project_code,
            FACTS.c.type == fact.type,
            FACTS.c.contract_no == fact.contract_no,
        )
    )
    for source, event_id, at in rows:
        if _aware(at) != fact.at:
            return f"{source}|{event_id}"
    return None


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive (UTC); PostgreSQL aware.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _completing_fact(conn: AsyncConnection, fact: Fact, stage: str) -> tuple[str, datetime] | None:
    """A completing fact of the stage that arrived before its start (out of order), earliest first."""
    end = STAGE_EVENTS[stage][1]
    cond = [FACTS.c.region == fact.region, FACTS.c.project_code == fact.project_code, FACTS.c.type == end]
    if stage != "contract_signing":
        cond.append(FACTS.c.contract_no == fact.contract_no)
    row = (
        await conn.execute(
            select(FACTS.c.source, FACTS.c.event_id, FACTS.c.at).where(and_(*cond)).order_by(FACTS.c.at).limit(1)
        )
    ).first()
    return (f"{row[0]}|{row[1]}", _aware(row[2])) if row is not None else None


async def _open(conn: AsyncConnection, fact: Fact, stage: str, key: str, *, now: datetime) -> int:
    cid = clock_id(fact, stage)
    if (await conn.execute(select(CLOCKS.c.clock_id).where(CLOCKS.c.clock_id == cid))).first() is not None:
        return 0  # opened already (a second award notice: kept as a fact, flagged if it differs)
    start_day = local_date(fact.at)
    due = due_for(deadline_policy(), fact.region, stage, start_day)
    if due is None:
        return 0  # no layer in force sets a deadline for this stage here
    responsible = {"type": "purchaser", "id": fact.data.purchaser.id, "name": fact.data.purchaser.name}
    done = await _completing_fact(conn, fact, stage)
    row = {
        "clock_id": cid,
        "region": fact.region,
        "project_code": fact.project_code,
        "project_name": fact.data.project.name,
        "stage": stage,
        "contract_no": "" if stage == "contract_signing" else fact.contract_no,
        "purchaser_id": fact.data.purchaser.id,
        "agency_id": fact.data.agency.id if fact.data.agency else None,
        "responsible": responsible,
        "started_by": key,
        "started_at": fact.at,
        "due_on": due.due_on,
        "provisional": due.provisional,
        "rule": {"value": due.value, "unit": due.unit, "source": due.source, "sources": list(due.sources)},
        "done_at": done[1] if done else None,
        "late": (local_date(done[1]) > due.due_on) if done else None,
        "level": None,
        "task_id": None,
        "decision": None,
        "updated_at": now,
    }
    await insert_rows(conn, CLOCKS, [row])
    if done is None:
        inp = clock_input(fact, stage, cid, due, responsible)
        await _command(conn, cid, "start", inp.model_dump(mode="json"), now)
    return 1


async def _close(conn: AsyncConnection, fact: Fact, stage: str, key: str, *, now: datetime) -> int:
    cond = [
        CLOCKS.c.region == fact.region,
        CLOCKS.c.project_code == fact.project_code,
        CLOCKS.c.stage == stage,
        CLOCKS.c.done_at.is_(None),
    ]
    if stage != "contract_signing":
        cond.append(CLOCKS.c.contract_no == fact.contract_no)
    rows = (await conn.execute(select(CLOCKS.c.clock_id, CLOCKS.c.due_on).where(and_(*cond)))).all()
    for cid, due_on in rows:
        await conn.execute(
            update(CLOCKS)
            .where(CLOCKS.c.clock_id == cid)
            .values(done_at=fact.at, late=local_date(fact.at) > due_on, updated_at=now)
        )
        await _command(conn, cid, "stop", ClockStop(done_at=fact.at, fact=key).model_dump(mode="json"), now)
    return len(rows)


async def _command(conn: AsyncConnection, cid: str, kind: str, payload: dict, now: datetime) -> None:
    await insert_rows(conn, DISPATCH, [{"clock_id": cid, "kind": kind, "payload": payload, "created_at": now}])


def clock_input(fact: Fact, stage: str, cid: str, due: Due, responsible: dict) -> ClockInput:
    """The workflow's input: the moments of the warnings, from the calendar, and the task's terms."""
    before = RECKONER.previous_working_day(due.due_on, 1).day
    due_soon_at = start_of_day(before) if before >= local_date(fact.at) else None
    layer = deadline_policy().regional_layer(fact.region)
    assert layer.overdue_task is not None  # required of every regional layer at load
    try:
        tasks = policy_for(fact.region, local_date(fact.at)).tasks
    except NoPolicy:
        tasks = TaskRules()  # the task model's usual reminder and escalation levels
    return ClockInput(
        clock_id=cid,
        region=fact.region,
        project={"code": fact.project_code, "name": fact.data.project.name},
        stage=stage,
        due_on=due.due_on,
        due_soon_at=due_soon_at,
        overdue_at=start_of_day(due.due_on + timedelta(days=1)),
        provisional=due.provisional,
        responsible=responsible,
        rule={"value": due.value, "unit": due.unit, "source": due.source},
        task_due_working_days=layer.overdue_task.due_working_days,
        reminder_working_days_before=tasks.reminder_working_days_before,
        escalation_working_days_after=list(tasks.escalation_working_days_after),
        notify_attempts=get_settings().credit_notify_attempts,
    )
