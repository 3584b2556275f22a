"""The statistics consumer (issue 17), on the consumer frame: each handler turns one typed event
into changes of the counters (`statistics_count`) and of the last-seen state it needs to know
whether a level moved. `prepare` reads the kept state of every record, task, expert and subject the
batch names; `finish` writes the state and adds the batch's counters in one statement each.

Metrics (`metric`, `dim_a`, `dim_b`), per region and month:
- `records_new` (subject type, severity) — by the month recorded;
- `in_force` (subject type, severity) and `in_force_behaviour` (behaviour code, severity): +1 when
  a record enters force, -1 when it leaves (expired, repaired, corrected away, withdrawn);
- `record_change` (change: created, appealed, corrected, upheld, repaired, expired);
- `repairs` (state), `appeals` (state: filed, under_review, corrected, upheld, closed);
- `blacklist` (subject type): +1 / -1 as a subject is put on or taken off;
- `tasks_opened` (kind), `tasks_done` (kind, officer), `tasks_on_time` / `tasks_late` (kind, officer),
  `tasks_cancelled` (kind);
- `experts` (status): +1 / -1 as an expert's standing moves;
- `deadline` (responsible type, level) and `deadline_party` (responsible type, "id|name"): the watch's
  `deadline.warning.v1` on `credit.warnings` (issue 13), counted as it arrives;
- `evaluations` and `evaluation_interviews` (subject kind: purchaser | agency, "year|grade"): the
  evaluations service's `evaluation.published.v1` on `credit.notices` (issue 15), in the month
  published; an interview is a published result below the policy's threshold (the run opens its
  supervision_interview task);
- `pushes` (final state: delivered | acknowledged | not_configured, platform): the publication
  service's push outcomes on `credit.pushes`, counted by their own consumer (push_counts.py).
Open and overdue tasks are read from `statistics_task` (one indexed count)."""

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.contracts import experts, records
from services.common.contracts.application_states import (
    APPEAL_CHANGED,
    REPAIR_CHANGED,
    AppealChanged,
    RepairChanged,
)
from services.common.contracts.decode import Typed
from services.common.contracts.experts import ExpertStanding
from services.common.contracts.notices import (
    EVALUATION_PUBLISHED,
    NOTICE_PUBLISHED,
    REPORT_PUBLISHED,
    EvaluationPublished,
    NoticePublished,
)
from services.common.contracts.owners import STATISTICS
from services.common.contracts.records import RecordData
from services.common.contracts.subjects import SUBJECT_STATUS_CHANGED, SubjectStatus
from services.common.contracts.tasks import (
    TASK_COMPLETED,
    TASK_CREATED,
    TASK_ESCALATED,
    TaskCompleted,
    TaskCreated,
    TaskEscalated,
)
from services.common.contracts.warnings import DEADLINE_WARNING, DeadlineWarning
from services.common.frame import Accepted, Batch, Consumer, Outcome, counts, handle_batch
from services.common.identifiers import is_division_code, regions_above
from services.common.inbound import Inbound
from services.common.sql import key_in, pairs_in, upsert_rows
from services.common.topics import APPLICATIONS, EXPERTS, NOTICES, RECORDS, SUBJECTS, TASKS, WARNINGS
from services.statistics.models import CASES, COUNTS, MESSAGING, ROLLUP, month_of
from services.statistics.models import EXPERTS as EXPERTS_T
from services.statistics.models import RECORDS as RECORDS_T
from services.statistics.models import SUBJECTS as SUBJECTS_T
from services.statistics.models import TASKS as TASKS_T

SOURCE = "urn:credit:statistics"
BEIJING = ZoneInfo("Asia/Shanghai")
STALE = Accepted("stale")
Key = tuple[str, str, str, str, str]  # region, month, metric, dim_a, dim_b
KEY_NAMES = ("region", "month", "metric", "dim_a", "dim_b")


def _day(event: Typed[Any]) -> date:
    return event.envelope.time.astimezone(BEIJING).date()


def add_count(batch: Batch, region: str, day: date, metric: str, a: str, b: str = "", n: int = 1) -> None:
    tally: Counter[Key] = batch.state("counts", Counter)
    tally[(region, month_of(day), metric, a[:100], b[:200])] += n


def _kept(batch: Batch, name: str) -> dict[Any, dict[str, Any]]:
    kept: dict[Any, dict[str, Any]] = batch.state(name, dict)
    return kept


def _changed(batch: Batch, name: str) -> dict[Any, dict[str, Any]]:
    changed: dict[Any, dict[str, Any]] = batch.state(name + ":changed", dict)
    return changed


async def on_record(event: Typed[RecordData], batch: Batch) -> Outcome:
    d = event.data
    kept = _kept(batch, "records").get(d.record_id)
    if kept is not None and kept["version"] >= d.version:
        return STALE
    day, change = _day(event), event.type.split(".")[-2]
    was = bool(kept and kept["in_force"])
    now_in = d.status == "in_force"
    row = {
        "record_id": d.record_id,
        "version": d.version,
        "region": d.region,
        "subject_type": d.subject.type,
        "severity": d.severity,
        "behaviour_code": d.behaviour.code,
        "in_force": int(now_in),
    }
    if kept is None:
        add_count(batch, d.region, d.recorded_on, "records_new", d.subject.type, d.severity)
    add_count(batch, d.region, day, "record_change", change)
    if was != now_in:
        old: dict[str, Any] = kept if was and kept is not None else row
        sign = 1 if now_in else -1
        add_count(batch, old["region"], day, "in_force", old["subject_type"], old["severity"], sign)
        add_count(batch, old["region"], day, "in_force_behaviour", old["behaviour_code"], old["severity"], sign)
    _kept(batch, "records")[d.record_id] = row
    _changed(batch, "records")[d.record_id] = row
    return Accepted("counted")


async def on_subject(event: Typed[SubjectStatus], batch: Batch) -> Outcome:
    d = event.data
    key = (d.subject.type, d.subject.id)
    kept = _kept(batch, "subjects").get(key)
    if kept is not None and kept["version"] >= d.version:
        return STALE
    regions = [str(r.get("region")) for r in d.records_in_force if r.get("region")]
    region = regions[0] if regions else (kept["region"] if kept else "")
    now_on = bool(d.blacklisted)
    was = bool(kept and kept["blacklisted"])
    if was != now_on and region:
        add_count(batch, region, _day(event), "blacklist", d.subject.type, "", 1 if now_on else -1)
    row = {
        "subject_type": d.subject.type,
        "subject_id": d.subject.id,
        "version": d.version,
        "region": region,
        "blacklisted": int(now_on),
    }
    _kept(batch, "subjects")[key] = row
    _changed(batch, "subjects")[key] = row
    return Accepted("counted")


async def on_expert(event: Typed[ExpertStanding], batch: Batch) -> Outcome:
    d = event.data
    kept = _kept(batch, "experts").get(d.expert.id)
    if kept is not None and kept["version"] >= d.version:
        return STALE
    region = d.region or (kept["region"] if kept else "")
    day = _day(event)
    if kept is None or kept["status"] != d.status:
        if kept is not None:
            add_count(batch, kept["region"], day, "experts", kept["status"], "", -1)
        add_count(batch, region, day, "experts", d.status)
    row = {"expert_id": d.expert.id, "version": d.version, "region": region, "status": d.status}
    _kept(batch, "experts")[d.expert.id] = row
    _changed(batch, "experts")[d.expert.id] = row
    return Accepted("counted")


async def on_appeal(event: Typed[AppealChanged], batch: Batch) -> Outcome:
    add_count(batch, event.data.region, _day(event), "appeals", event.data.state)
    return Accepted("counted")


async def on_repair(event: Typed[RepairChanged], batch: Batch) -> Outcome:
    add_count(batch, event.data.region, _day(event), "repairs", event.data.state)
    return Accepted("counted")


def _task_row(batch: Batch, task_id: str) -> dict[str, Any] | None:
    return _kept(batch, "tasks").get(task_id)


def _keep_task(batch: Batch, row: dict[str, Any]) -> None:
    _kept(batch, "tasks")[row["task_id"]] = row
    _changed(batch, "tasks")[row["task_id"]] = row


async def on_task_created(event: Typed[TaskCreated], batch: Batch) -> Outcome:
    d = event.data
    if _task_row(batch, d.task_id) is not None:
        return STALE
    add_count(batch, d.region, date.fromisoformat(d.opened_on[:10]), "tasks_opened", d.kind)
    row = {"task_id": d.task_id, "kind": d.kind, "region": d.region, "due_on": date.fromisoformat(d.due_on)}
    _keep_task(batch, {**row, "state": "open", "assignee": ""})
    return Accepted("counted")


async def on_task_escalated(event: Typed[TaskEscalated], batch: Batch) -> Outcome:
    kept = _task_row(batch, event.data.task_id)
    if kept is not None and kept["state"] == "open" and event.data.assignee:
        _keep_task(batch, {**kept, "assignee": event.data.assignee})
    return Accepted("counted")


async def on_task_completed(event: Typed[TaskCompleted], batch: Batch) -> Outcome:
    d = event.data
    kept = _task_row(batch, d.task_id)
    if kept is not None and kept["state"] != "open":
        return STALE
    kind = kept["kind"] if kept else d.kind
    due = date.fromisoformat(d.due_on)
    done_at = datetime.fromisoformat(d.completed_at).astimezone(BEIJING).date() if d.completed_at else _day(event)
    officer = d.decided_by or (kept["assignee"] if kept else "") or ""
    if d.cancelled:
        add_count(batch, d.region, done_at, "tasks_cancelled", kind)
    else:
        add_count(batch, d.region, done_at, "tasks_done", kind, officer)
        add_count(batch, d.region, done_at, "tasks_on_time" if done_at <= due else "tasks_late", kind, officer)
    row = {"task_id": d.task_id, "kind": kind, "region": d.region, "due_on": due, "assignee": officer}
    _keep_task(batch, {**row, "state": "cancelled" if d.cancelled else "done"})
    return Accepted("counted")


async def on_notice(event: Typed[NoticePublished], batch: Batch) -> Outcome:
    """Keep a published notice's entries as published (the annual report's notable cases)."""
    d = event.data
    published_on = datetime.fromisoformat(d.published_at).astimezone(BEIJING).date()
    rows = batch.rows("cases")
    for entry in d.entries:
        subject = entry.get("subject") or {}
        if not entry.get("record_id"):
            continue
        rows.append(
            {
                "notice_id": d.notice_id[:100],
                "record_id": str(entry["record_id"])[:64],
                "region": str(entry.get("region") or d.region)[:6],
                "published_on": published_on,
                "severity": str(entry.get("severity") or "")[:20],
                "behaviour_code": str(entry.get("behaviour_code") or "")[:40],
                "subject_type": str(subject.get("type") or "")[:20],
                "subject_name": str(subject.get("name") or "")[:300],
                "recorded_on": str(entry.get("recorded_on") or "")[:10],
            }
        )
    return Accepted("kept")


def _published_on(published_at: str, event: Typed[Any]) -> date:
    """The day (Beijing) a result says it was published; the event's own day if it says none usable."""
    try:
        return datetime.fromisoformat(published_at).astimezone(BEIJING).date()
    except ValueError:
        return _day(event)


async def on_evaluation(event: Typed[EvaluationPublished], batch: Batch) -> Outcome:
    """A published agency evaluation or purchaser assessment, by kind, year and grade; one id per
    subject and year (the evaluations service's), so a re-sent result counts once."""
    d = event.data
    day, year_grade = _published_on(d.published_at, event), f"{d.period}|{d.grade}"
    add_count(batch, d.region, day, "evaluations", d.kind, year_grade)
    if d.interview:
        add_count(batch, d.region, day, "evaluation_interviews", d.kind, year_grade)
    return Accepted("counted")


async def on_deadline(event: Typed[DeadlineWarning], batch: Batch) -> Outcome:
    d = event.data
    day = _day(event)
    add_count(batch, d.region, day, "deadline", d.responsible.type, d.level)
    if d.level != "due_soon":
        add_count(
            batch, d.region, day, "deadline_party", d.responsible.type, f"{d.responsible.id}|{d.responsible.name or ''}"
        )
    return Accepted("counted")


STATE = (
    ("records", RECORDS_T, ("record_id",)),
    ("tasks", TASKS_T, ("task_id",)),
    ("experts", EXPERTS_T, ("expert_id",)),
    ("subjects", SUBJECTS_T, ("subject_type", "subject_id")),
)


def _key_of(event: Typed[Any]) -> tuple[str, Any] | None:
    d = event.data
    if isinstance(d, RecordData):
        return "records", d.record_id
    if isinstance(d, TaskCreated | TaskEscalated | TaskCompleted):
        return "tasks", d.task_id
    if isinstance(d, ExpertStanding):
        return "experts", d.expert.id
    if isinstance(d, SubjectStatus):
        return "subjects", (d.subject.type, d.subject.id)
    return None


async def _prepare(batch: Batch, events: list[Typed[Any]]) -> None:
    wanted: dict[str, set[Any]] = {}
    for e in events:
        key = _key_of(e)
        if key is not None:
            wanted.setdefault(key[0], set()).add(key[1])
    for name, table, key_cols in STATE:
        keys = sorted(wanted.get(name, ()))
        kept = _kept(batch, name)
        for i in range(0, len(keys), 1000):
            chunk = keys[i : i + 1000]
            if len(key_cols) == 1:
                where = key_in(batch.conn, table.c[key_cols[0]], chunk)
            else:
                where = pairs_in(batch.conn, (table.c[key_cols[0]], table.c[key_cols[1]]), chunk)
            for r in (await batch.conn.execute(select(table).where(where))).mappings():
                row = dict(r)
                kept[row[key_cols[0]] if len(key_cols) == 1 else tuple(row[c] for c in key_cols)] = row


async def _finish(batch: Batch) -> None:
    for name, table, key_cols in STATE:
        rows = list(_changed(batch, name).values())
        if rows:
            update = [c.name for c in table.c if c.name not in key_cols]
            await upsert_rows(batch.conn, table, rows, key=list(key_cols), update=update)
    tally: Counter[Key] = batch.state("counts", Counter)
    await add_counts(batch.conn, tally)
    cases = {(r["notice_id"], r["record_id"]): r for r in batch.rows("cases")}
    if cases:
        insert = postgresql.insert if batch.conn.dialect.name == "postgresql" else sqlite.insert
        await batch.conn.execute(insert(CASES).on_conflict_do_nothing(), list(cases.values()))


async def add_counts(conn: AsyncConnection, tally: Counter[Key]) -> None:
    """Add the counters in one statement (in key order, so concurrent batches never deadlock)."""
    rows = [dict(zip(KEY_NAMES, k, strict=True), n=n) for k, n in sorted(tally.items()) if n]
    if not rows:
        return
    rolled: Counter[Key] = Counter()
    for (region, month, metric, a, b), n in tally.items():
        for above in regions_above(region) if is_division_code(region) else ():
            rolled[(above, month, metric, a, b)] += n
    ups = [dict(zip(KEY_NAMES, k, strict=True), n=n) for k, n in sorted(rolled.items()) if n]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for table, table_rows in ((COUNTS, rows), (ROLLUP, ups)):
        for i in range(0, len(table_rows), 2000):
            stmt = insert(table).values(table_rows[i : i + 2000])
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c[k] for k in KEY_NAMES], set_={"n": table.c.n + stmt.excluded.n}
            )
            await conn.execute(stmt)


CONSUMER = Consumer(
    service=STATISTICS,
    source=SOURCE,
    messaging=MESSAGING,
    topics=(RECORDS, SUBJECTS, EXPERTS, TASKS, APPLICATIONS, WARNINGS, NOTICES),
    handlers={
        **dict.fromkeys(records.CONTRACTS, on_record),
        SUBJECT_STATUS_CHANGED: on_subject,
        **dict.fromkeys(experts.CONTRACTS, on_expert),
        APPEAL_CHANGED: on_appeal,
        REPAIR_CHANGED: on_repair,
        TASK_CREATED: on_task_created,
        TASK_ESCALATED: on_task_escalated,
        TASK_COMPLETED: on_task_completed,
        DEADLINE_WARNING: on_deadline,
        NOTICE_PUBLISHED: on_notice,
        EVALUATION_PUBLISHED: on_evaluation,
    },
    passes=frozenset({REPORT_PUBLISHED.type}),
    conflicts=False,
    refuses_invalid=False,
    prepare=_prepare,
    finish=_finish,
)


async def apply_events(conn: AsyncConnection, items: list[Inbound], *, now: datetime | None = None) -> dict[str, int]:
    return counts(await handle_batch(CONSUMER, conn, items, now=now or datetime.now(UTC)))
