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
- An open clock is handed to Temporal through the command outbox (start, and stop when closed:
  commands.py); supplier checks go to the checker (checks.py)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.cloudevents import build_event
from services.common.commands import PENDING, write_commands
from services.common.lawdates import local_date, start_of_day
from services.common.messaging import OutboundEvent
from services.common.policy import NoPolicy, TaskRules, policy_for
from services.common.settings import get_settings
from services.common.sql import existing_pairs, insert_rows, key_in
from services.common.topics import WARNINGS as WARNINGS_TOPIC
from services.common.topics import event_type
from services.common.workdays import RECKONER
from services.watch.commands import CLOCK_START, command_of
from services.watch.deadlines import STAGE_EVENTS, Due, NoWatchPolicy, deadline_policy, due_for
from services.watch.events import NO_POLICY, SOURCE, Fact
from services.watch.models import CLOCKS, COMMANDS, DISPATCH, FACTS
from workflows.deadline_clock.inputs import ClockInput, ClockStop, InterceptionInput
from workflows.interception.workflow import interception_task_id

INTERCEPTION_RAISED = event_type("interception.raised.v1")


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
    if fact.type == "invoice.received" and not getattr(fact.data, "payable", False):
        return []  # 004 #18 counts from an invoice that is payable (满足合同约定支付条件的)
    return [s for s, (start, _) in STAGE_EVENTS.items() if start == fact.type]


def _ends(fact: Fact) -> list[str]:
    return [s for s, (_, end) in STAGE_EVENTS.items() if end == fact.type]


class Timelines:
    """The facts and clocks of a batch's projects, loaded once, settled in memory (pure: no I/O),
    then written in bulk (`save`)."""

    def __init__(self, facts: list[dict], clocks: list[dict], known: set[tuple[str, str]]) -> None:
        self.facts: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for f in facts:
            self.facts[(f["region"], f["project_code"])].append({**f, "at": aware(f["at"])})
        self.clocks: dict[str, dict] = {c["clock_id"]: c for c in clocks}
        self.by_project: dict[tuple[str, str], list[str]] = defaultdict(list)
        for c in clocks:
            self.by_project[(c["region"], c["project_code"])].append(c["clock_id"])
        self.known = set(known)
        self.new_facts: list[dict] = []
        self.new_clocks: dict[str, dict] = {}
        self.closed: dict[str, dict] = {}  # clocks that existed before the batch, now done
        self.commands: list[tuple[str, str, dict]] = []
        self.events: list[OutboundEvent] = []

    @classmethod
    def empty(cls) -> "Timelines":
        return cls([], [], set())

    def accept(self, fact: Fact, *, now: datetime) -> Outcome:
        try:
            deadline_policy().layers_for(fact.region, local_date(fact.at))
        except NoWatchPolicy as exc:
            return Outcome("rejected", NO_POLICY, str(exc))
        if (fact.source, fact.id) in self.known:
            return Outcome("duplicate")
        self.known.add((fact.source, fact.id))
        project = self.facts[(fact.region, fact.project_code)]
        contradicted = next(
            (
                f"{f['source']}|{f['event_id']}"
                for f in project
                if f["type"] == fact.type and f["contract_no"] == fact.contract_no and f["at"] != fact.at
            ),
            None,
        )
        row = {
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
        project.append(row)
        self.new_facts.append(row)
        key = f"{fact.source}|{fact.id}"
        opened = sum(self._open(fact, stage, key, now=now) for stage in _starts(fact))
        closed = sum(self._close(fact, stage, key, now=now) for stage in _ends(fact))
        self._interceptions(fact, key)
        return Outcome("accepted", clocks_opened=opened, clocks_closed=closed, conflict=contradicted is not None)

    def _interceptions(self, fact: Fact, key: str) -> None:
        """At the award and the contract (004 #8): each supplier is checked against /v1/credit by the
        dispatcher (a `check` command: no HTTP in the consumer's transaction); deposits collected
        where the region's layer forbids them are intercepted at once."""
        if fact.type not in ("award.notified", "contract.signed"):
            return
        for s in fact.suppliers:
            subject = {"type": "supplier", "id": s.id, "name": s.name}
            payload = {"region": fact.region, "project": _project(fact), "subject": subject, "fact": key}
            payload |= {"at": fact.at.isoformat(), "stage": fact.type}
            self.commands.append((f"{fact.region}:{fact.project_code}:supplier_barred:{s.id}", "check", payload))
        deposits = getattr(fact.data, "deposits", None)
        layer = deadline_policy().regional_layer(fact.region)
        forbidden = layer.deposits_forbidden
        if deposits is None or forbidden is None or not forbidden.value or not layer.in_force_on(local_date(fact.at)):
            return
        collected = {k: v for k, v in (("bid", deposits.bid), ("performance", deposits.performance)) if _positive(v)}
        if not collected:
            return
        detail = ", ".join(f"{k} deposit {v} CNY" for k, v in collected.items()) + " collected"
        responsible = fact.data.agency or fact.data.purchaser
        kind = "agency" if fact.data.agency else "purchaser"
        subject = {"type": kind, "id": responsible.id, "name": responsible.name}
        self.intercept(fact, "deposit_forbidden", subject, detail, forbidden.source)

    def intercept(self, fact: Fact, rule: str, subject: dict, detail: str, basis: str) -> None:
        iid = f"{fact.region}:{fact.project_code}:{rule}:{subject['id']}"
        inp = interception_input(iid, fact.region, _project(fact), rule, subject, detail, basis, fact.at)
        self.events.append(interception_event(inp))
        self.commands.append((iid, "intercept", inp.model_dump(mode="json")))

    def _completing_fact(self, fact: Fact, stage: str) -> dict | None:
        """A completing fact of the stage that arrived before its start (out of order), earliest first."""
        end = STAGE_EVENTS[stage][1]
        found = [
            f
            for f in self.facts[(fact.region, fact.project_code)]
            if f["type"] == end and (stage == "contract_signing" or f["contract_no"] == fact.contract_no)
        ]
        return min(found, key=lambda f: f["at"]) if found else None

    def _open(self, fact: Fact, stage: str, key: str, *, now: datetime) -> int:
        cid = clock_id(fact, stage)
        if cid in self.clocks:
            return 0  # opened already (a second award notice: kept as a fact, flagged if it differs)
        due = due_for(deadline_policy(), fact.region, stage, local_date(fact.at))
        if due is None:
            return 0  # no layer in force sets a deadline for this stage here
        responsible = {"type": "purchaser", "id": fact.data.purchaser.id, "name": fact.data.purchaser.name}
        done = self._completing_fact(fact, stage)
        done_at = done["at"] if done else None
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
            "done_at": done_at,
            "late": (local_date(done_at) > due.due_on) if done_at else None,
            "level": None,
            "task_id": None,
            "decision": None,
            "updated_at": now,
        }
        self.clocks[cid] = self.new_clocks[cid] = row
        self.by_project[(fact.region, fact.project_code)].append(cid)
        if done_at is None:
            inp = clock_input(fact, stage, cid, due, responsible)
            self.commands.append((cid, "start", inp.model_dump(mode="json")))
        return 1

    def _close(self, fact: Fact, stage: str, key: str, *, now: datetime) -> int:
        n = 0
        for cid in self.by_project[(fact.region, fact.project_code)]:
            row = self.clocks[cid]
            if row["stage"] != stage:
                continue
            if row["done_at"] is not None or (stage != "contract_signing" and row["contract_no"] != fact.contract_no):
                continue
            row.update(done_at=fact.at, late=local_date(fact.at) > row["due_on"], updated_at=now)
            if cid not in self.new_clocks:
                self.closed[cid] = row
            self.commands.append((cid, "stop", ClockStop(done_at=fact.at, fact=key).model_dump(mode="json")))
            n += 1
        return n


async def load_timelines(conn: AsyncConnection, facts: list[Fact]) -> Timelines:
    """What the batch's projects already hold: three statements whatever the batch's size."""
    codes = sorted({f.project_code for f in facts})
    regions = {(f.region, f.project_code) for f in facts}
    if not codes:
        return Timelines.empty()
    known = await existing_pairs(conn, FACTS, ("source", "event_id"), [(f.source, f.id) for f in facts])
    # Both columns, so the (region, project_code) indexes serve the lookup.
    region_codes = sorted({r for r, _ in regions})

    async def of(table: Table) -> list[dict]:
        q = select(table).where(key_in(conn, table.c.region, region_codes), key_in(conn, table.c.project_code, codes))
        return [dict(r) for r in (await conn.execute(q)).mappings() if (r["region"], r["project_code"]) in regions]

    held, clocks = await of(FACTS), await of(CLOCKS)
    for c in clocks:
        c["done_at"] = aware(c["done_at"]) if c["done_at"] is not None else None
    return Timelines(held, clocks, known)


async def save_timelines(conn: AsyncConnection, t: Timelines, *, now: datetime) -> None:
    await insert_rows(conn, FACTS, t.new_facts)
    await insert_rows(conn, CLOCKS, list(t.new_clocks.values()))
    if t.closed:  # one statement for the batch's closed clocks (executemany)
        closing = update(CLOCKS).where(CLOCKS.c.clock_id == bindparam("cid"))
        closing = closing.values(done_at=bindparam("done"), late=bindparam("was_late"), updated_at=now)
        await conn.execute(
            closing, [{"cid": cid, "done": r["done_at"], "was_late": r["late"]} for cid, r in t.closed.items()]
        )
    # Before the outbox's writer lock (the frame writes `t.events` to the outbox after this): the
    # checker holds check rows while it may write an interception to the outbox, so taking the two
    # the other way round could wait on each other.
    commands = await _unsent_taken_back(conn, t.commands)
    checks = [
        {"clock_id": ref, "kind": kind, "payload": payload, "created_at": now}
        for ref, kind, payload in commands
        if kind == "check"
    ]
    await insert_rows(conn, DISPATCH, checks)
    await write_commands(conn, COMMANDS, [command_of(*c) for c in commands if c[1] != "check"])


async def _unsent_taken_back(
    conn: AsyncConnection, commands: list[tuple[str, str, dict]]
) -> list[tuple[str, str, dict]]:
    """A clock stopped before Temporal heard of its start needs no workflow, as when its completing
    fact came first: a start and stop of the same batch are both dropped, and a start still pending
    in the command outbox is taken back. The relay reads its rows without holding them, so it may be
    sending that start right now: the stop is written all the same — it stops the workflow if the
    start got through, and finds none (nothing to reach, commands.py) if it did not. Without this,
    a backlog (a platform's catch-up, the benchmark) made a workflow per clock."""
    stopped = {ref for ref, kind, _ in commands if kind == "stop"}
    if not stopped:
        return commands
    started_here = {ref for ref, kind, _ in commands if kind == "start"}
    pending = sorted(stopped - started_here)
    if pending:
        await conn.execute(
            delete(COMMANDS).where(
                key_in(conn, COMMANDS.c.ref, pending), COMMANDS.c.purpose == CLOCK_START, COMMANDS.c.state == PENDING
            )
        )
    quiet = started_here & stopped
    return [c for c in commands if not (c[1] in ("start", "stop") and c[0] in quiet)]


def _project(fact: Fact) -> dict:
    return {"code": fact.project_code, "name": fact.data.project.name}


def _positive(amount: Decimal) -> bool:
    return amount > 0


def interception_input(
    iid: str, region: str, project: dict, rule: str, subject: dict, detail: str, basis: str, at: datetime
) -> InterceptionInput:
    layer = deadline_policy().regional_layer(region)
    assert layer.overdue_task is not None
    tasks = _task_rules(region, local_date(at))
    return InterceptionInput(
        interception_id=iid,
        region=region,
        project=project,
        rule=rule,  # type: ignore[arg-type]
        subject=subject,
        detail=detail,
        basis=basis,
        at=at,
        task_due_working_days=layer.overdue_task.due_working_days,
        reminder_working_days_before=tasks.reminder_working_days_before,
        escalation_working_days_after=list(tasks.escalation_working_days_after),
    )


def interception_event(inp: InterceptionInput) -> OutboundEvent:
    """`interception.raised.v1` (CONTRACT v1.1 §1) on credit.warnings, with the task it opens."""
    data = {
        "project": inp.project,
        "region": inp.region,
        "rule": inp.rule,
        "subject": inp.subject,
        "detail": inp.detail,
        "basis": inp.basis,
        "task_id": interception_task_id(inp.interception_id),
    }
    event = build_event(type=INTERCEPTION_RAISED, source=SOURCE, id=f"interception:{inp.interception_id}", data=data)
    return OutboundEvent(WARNINGS_TOPIC, inp.project["code"], event)


def _task_rules(region: str, day: date) -> TaskRules:
    try:
        return policy_for(region, day).tasks
    except NoPolicy:
        return TaskRules()  # the task model's usual reminder and escalation levels


def aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive (UTC); PostgreSQL aware.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def clock_moments(due_on: date, started_on: date) -> tuple[datetime | None, datetime]:
    """When a clock warns: `due_soon` at the start of the working day before `due_on` (None when that
    day is before the clock started), `overdue` at the start of the day after it."""
    before = RECKONER.previous_working_day(due_on, 1).day
    return (start_of_day(before) if before >= started_on else None), start_of_day(due_on + timedelta(days=1))


def clock_input(fact: Fact, stage: str, cid: str, due: Due, responsible: dict) -> ClockInput:
    """The workflow's input: the moments of the warnings, from the calendar, and the task's terms."""
    due_soon_at, overdue_at = clock_moments(due.due_on, local_date(fact.at))
    layer = deadline_policy().regional_layer(fact.region)
    assert layer.overdue_task is not None  # required of every regional layer at load
    tasks = _task_rules(fact.region, local_date(fact.at))
    return ClockInput(
        clock_id=cid,
        region=fact.region,
        project={"code": fact.project_code, "name": fact.data.project.name},
        stage=stage,
        due_on=due.due_on,
        due_soon_at=due_soon_at,
        overdue_at=overdue_at,
        provisional=due.provisional,
        responsible=responsible,
        rule={"value": due.value, "unit": due.unit, "source": due.source},
        task_due_working_days=layer.overdue_task.due_working_days,
        reminder_working_days_before=tasks.reminder_working_days_before,
        escalation_working_days_after=list(tasks.escalation_working_days_after),
        notify_attempts=get_settings().credit_notify_attempts,
    )
