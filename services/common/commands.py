"""The command outbox toward Temporal: what a service owes its workflows — "start this workflow",
"signal it", "send it an update" — written as rows of `{service}_command` in the transaction that
decided them, and delivered by one relay (`services.common.command_relay`).

Nothing is lost when Temporal is away, and neither a Kafka consumer nor an HTTP request waits for
Temporal: they only write rows. Every command is idempotent in Temporal — starts use the business
workflow id (an existing or finished run with that id means done), a workflow ignores a repeated
signal — so a command delivered twice (a crash after the call, before the row is removed) changes
nothing. Commands of one workflow id are delivered in the order they were written.

A row names its `purpose` (e.g. `repair.apply`): the service's `Route` for it may build the
argument at delivery time (`prepare`), note the delivery in its own tables (`delivered`) or decide
what an undeliverable signal means (`gone`); a purpose without a route is delivered as written."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    text,
)
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from services.common.messaging import notify_at_commit
from services.common.sql import insert_rows

Action = Literal["start", "signal", "update"]
PENDING = "pending"
FAILED = "failed"
# A start written ahead of its time (`defer_commands`): not sent before `not_before`, when the relay
# makes it pending (`promote_due`). It keeps its seq, so it still goes before the later commands of
# its workflow, and Temporal holds nothing for the workflow until then.
DEFERRED = "deferred"


def command_table(service: str, *, deferred: bool = False) -> Table:
    """`deferred`: the table holds deferred starts (`defer_commands`); a partial index finds those due."""
    extra = (
        [
            Index(
                f"ix_{service}_command_deferred",
                "not_before",
                postgresql_where=text(f"state = '{DEFERRED}'"),
                sqlite_where=text(f"state = '{DEFERRED}'"),
            )
        ]
        if deferred
        else []
    )
    return Table(
        f"{service}_command",
        SQLModel.metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("purpose", String(60), nullable=False),
        # The business key of the row the command is about (record, appeal, task, push …).
        Column("ref", String(200), nullable=False),
        Column("action", String(10), nullable=False),  # start | signal | update
        Column("workflow_id", String(200), nullable=False),
        Column("workflow", String(100), nullable=True),  # workflow type, for a start
        Column("start_arg", JSON, nullable=True),  # its input
        Column("not_before", DateTime(timezone=True), nullable=True),  # a start delayed until then
        Column("name", String(100), nullable=True),  # signal or update name (with a start: signal-with-start)
        Column("arg", JSON, nullable=True),
        Column("state", String(10), nullable=False),  # pending | failed
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", DateTime(timezone=True), nullable=True),
        Column("last_error", String(500), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Index(f"ix_{service}_command_state_seq", "state", "seq"),
        # The few commands waiting to be tried again (most rows have none).
        Index(f"ix_{service}_command_next_attempt_at", "next_attempt_at"),
        *extra,
    )


@dataclass(frozen=True)
class Command:
    """One thing owed to a workflow. `start`: start `workflow` with `start_arg` (and, with `name`,
    signal-with-start); `signal` / `update`: send `name` with `arg` to the running workflow."""

    purpose: str
    ref: str
    action: Action
    workflow_id: str
    workflow: str | None = None
    start_arg: Any = None
    not_before: datetime | None = None
    name: str | None = None
    arg: Any = None
    seq: int = 0
    attempts: int = 0

    @classmethod
    def of_row(cls, row: Any) -> "Command":
        m = row._mapping
        return cls(**{f.name: m[f.name] for f in fields(cls)})


def _json(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def start(
    purpose: str,
    ref: str,
    workflow: type | str,
    workflow_id: str,
    start_arg: Any,
    *,
    not_before: datetime | None = None,
    signal: str | None = None,
    arg: Any = None,
) -> Command:
    """Start `workflow` (a class or its type name) unless a run with this id exists or existed;
    with `signal`, signal-with-start (the signal reaches a running one, ending any start delay)."""
    name = workflow if isinstance(workflow, str) else workflow_type(workflow)
    return Command(
        purpose, ref, "start", workflow_id, name, _json(start_arg), not_before, signal, _json(arg) if signal else None
    )


def signal(purpose: str, ref: str, workflow_id: str, name: str, arg: Any) -> Command:
    return Command(purpose, ref, "signal", workflow_id, name=name, arg=_json(arg))


def update(purpose: str, ref: str, workflow_id: str, name: str, arg: Any) -> Command:
    return Command(purpose, ref, "update", workflow_id, name=name, arg=_json(arg))


def workflow_type(cls: type) -> str:
    """The type name Temporal knows a workflow class by (what its @workflow.defn registered)."""
    from temporalio.workflow import _Definition

    name = _Definition.must_from_class(cls).name
    if name is None:
        raise ValueError(f"{cls.__name__} is a dynamic workflow: it has no type name")
    return name


async def write_commands(conn: AsyncConnection, table: Table, commands: Sequence[Command]) -> None:
    """Append commands inside the caller's transaction; the relay leading `table` hears of them at
    commit (PostgreSQL NOTIFY; in-process writers also call the relay's wake())."""
    await _write(conn, table, commands, PENDING)


async def defer_commands(conn: AsyncConnection, table: Table, commands: Sequence[Command], *, now: datetime) -> None:
    """Append starts that are not to be sent before their `not_before` (a table made with
    `command_table(..., deferred=True)`): one due already is written pending; the others wait,
    without a workflow in Temporal, until the relay makes them pending (`promote_due`). A signal to
    such a workflow must be written after `promote_due` (its start then goes first)."""
    for c in commands:
        if c.action != "start" or c.not_before is None:
            raise ValueError(f"only a start with a not_before can be deferred ({c.purpose} {c.workflow_id})")
    due = [c for c in commands if _aware(c.not_before) <= now]
    later = [c for c in commands if _aware(c.not_before) > now]
    if due:
        await _write(conn, table, due, PENDING)
    if later:
        await _write(conn, table, later, DEFERRED)


async def promote_due(conn: AsyncConnection, table: Table, now: datetime) -> int:
    """Make the deferred starts whose time has come pending, inside the caller's transaction. Their
    `created_at` becomes the moment they were due, so the age of the oldest pending command (the
    commands gauge) counts from then, not from the months they waited by design."""
    t = table
    due = sql_update(t).where(in_state(t, DEFERRED), t.c.not_before <= now)
    result = await conn.execute(due.values(state=PENDING, created_at=t.c.not_before))
    return int(result.rowcount or 0)


def in_state(table: Table, state: str) -> ColumnElement[bool]:
    """`state = '<state>'` with the state written into the statement, not sent as a parameter: a
    prepared statement's generic plan cannot prove a partial index's predicate (`state =
    'deferred'`) from a parameter, and costs `state = $1` as an average state. After a burst of
    20,000 deferred repair starts that plan read all of them on every relay round (10-40 ms,
    bench/README.md "Issue 19: plans that a burst spoils")."""
    return table.c.state == bindparam(f"state_{state}", state, literal_execute=True)


def _aware(at: datetime | None) -> datetime:
    assert at is not None
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite gives naive UTC


async def _write(conn: AsyncConnection, table: Table, commands: Sequence[Command], state: str) -> None:
    if not commands:
        return
    if state == PENDING:
        await notify_at_commit(conn, table)
    now = datetime.now(UTC)
    fresh = {"state": state, "attempts": 0, "next_attempt_at": None, "last_error": None, "created_at": now}
    # Every field of the command but its seq (the table numbers it), as a new row. Read shallowly:
    # dataclasses.asdict deep-copies each start argument, which was a quarter of the repair
    # consumer's CPU in a burst (bench/README.md, "Issue 19: the paced run after the drain").
    await insert_rows(conn, table, [{k: getattr(c, k) for k in _ROW_FIELDS} | fresh for c in commands])


_ROW_FIELDS = tuple(f.name for f in fields(Command) if f.name != "seq")
Hook = Callable[[AsyncConnection, Command], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """What a service does around the delivery of commands of one purpose.

    - `prepare(engine, command)`: the command to send, built at delivery time (e.g. an input that
      depends on the policy or settings of the day); it may raise to have the command retried.
    - `delivered(conn, command)`: note the delivery in the service's tables (same transaction as
      the removal of the command).
    - `gone(conn, command)`: a signal or update whose workflow is not found or closed — what that
      means for the service (e.g. an application refused); without it the command fails with
      reason `workflow_not_found`."""

    prepare: Callable[[AsyncEngine, Command], Awaitable[Command]] | None = None
    delivered: Hook | None = None
    gone: Hook | None = None


@dataclass(frozen=True)
class CommandOutbox:
    """A service's command table and the routes of its purposes."""

    table: Table
    routes: dict[str, Route] = field(default_factory=dict)
    # The table holds deferred starts: the relay makes those due pending before each round.
    deferred: bool = False

    def route(self, purpose: str) -> Route:
        return self.routes.get(purpose) or Route()
