"""The one relay of the command outbox (services/common/command_relay.py), against SQLite and a
recording Temporal client: order per workflow, idempotent starts, bounded retries that end in a
`failed` state with the reason, an outage that is waited out without counting."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common.command_relay import CommandRelay
from services.common.commands import (
    CommandOutbox,
    command_table,
    defer_commands,
    promote_due,
    signal,
    start,
    write_commands,
)
from services.common.commands import update as update_command
from services.common.db import create_tables, make_engine
from services.common.measures import sample_commands
from services.common.metrics import COMMANDS_OLDEST_AGE, COMMANDS_PENDING
from workflows.human_task.workflow import HumanTaskWorkflow

TABLE = command_table("relaytest")
OUTBOX = CommandOutbox(TABLE)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'commands.db'}")
    await create_tables(eng, [TABLE])
    try:
        yield eng
    finally:
        await eng.dispose()


class Temporal:
    """Records calls. `refuse`: workflow ids whose calls fail as a bug would (not an outage);
    `away`: every call fails as if the server were down; `started`: ids that exist already."""

    def __init__(self, refuse: set[str] = frozenset(), away: bool = False, started: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.calls: list[tuple[str, str, object]] = []
        self.refuse, self.away, self.started = refuse, away, started

    def _check(self, workflow_id: str) -> None:
        if self.away:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        if workflow_id in self.refuse:
            raise RPCError("bad request", RPCStatusCode.INVALID_ARGUMENT, b"")

    async def start_workflow(self, workflow, arg, *, id: str, **kw) -> None:  # type: ignore[no-untyped-def]
        self._check(id)
        if id in self.started:
            raise WorkflowAlreadyStartedError(id, workflow)
        self.calls.append(("start", id, (workflow, arg, kw)))

    def get_workflow_handle(self, workflow_id: str):  # type: ignore[no-untyped-def]
        temporal = self

        class Handle:
            async def signal(self, name: str, arg: object) -> None:
                temporal._check(workflow_id)
                if workflow_id == "gone":
                    raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
                temporal.calls.append((name, workflow_id, arg))

            async def execute_update(self, name: str, arg: object) -> None:
                temporal._check(workflow_id)
                temporal.calls.append((f"update:{name}", workflow_id, arg))

        return Handle()


def relay(engine: AsyncEngine, temporal: Temporal, **kw: object) -> CommandRelay:
    async def connect() -> Temporal:
        return temporal

    return CommandRelay(engine=engine, outbox=OUTBOX, client=connect, service="test", **kw)  # type: ignore[arg-type]


async def write(engine: AsyncEngine, *commands) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await write_commands(conn, TABLE, list(commands))


async def rows(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(TABLE).order_by(TABLE.c.seq))]


async def test_a_workflows_commands_go_in_order_and_are_removed(engine: AsyncEngine) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    await write(
        engine,
        start("t.start", "a", HumanTaskWorkflow, "wf-a", {"x": 1}, not_before=later),
        signal("t.decide", "a", "wf-a", "decide", {"d": 1}),
        update_command("t.ask", "a", "wf-a", "ask", {"q": 1}),
        start("t.start", "b", "OtherWorkflow", "wf-b", {"y": 2}, signal="go", arg={"z": 3}),
    )
    temporal = Temporal()
    assert await relay(engine, temporal).deliver_once() == (4, 4)
    assert [(c[0], c[1]) for c in temporal.calls if c[1] == "wf-a"] == [
        ("start", "wf-a"),
        ("decide", "wf-a"),
        ("update:ask", "wf-a"),
    ]
    (workflow, arg, options), *_ = [c[2] for c in temporal.calls if c[0] == "start" and c[1] == "wf-a"]
    assert (workflow, arg) == ("HumanTaskWorkflow", {"x": 1})  # the type name on the wire
    assert timedelta(minutes=59) < options["start_delay"] <= timedelta(hours=1)
    (b,) = [c[2] for c in temporal.calls if c[1] == "wf-b"]
    assert (b[2]["start_signal"], b[2]["start_signal_args"]) == ("go", [{"z": 3}])  # signal-with-start
    assert await rows(engine) == []


async def test_a_workflow_that_exists_already_counts_as_started(engine: AsyncEngine) -> None:
    await write(engine, start("t.start", "a", "W", "wf-a", {}))
    assert await relay(engine, Temporal(started={"wf-a"})).deliver_once() == (1, 1)
    assert await rows(engine) == []


async def test_an_outage_is_waited_out_without_counting_attempts(engine: AsyncEngine) -> None:
    await write(engine, start("t.start", "a", "W", "wf-a", {}))
    with pytest.raises(RPCError):
        await relay(engine, Temporal(away=True)).deliver_once()
    (row,) = await rows(engine)
    assert (row["state"], row["attempts"], row["last_error"]) == ("pending", 0, None)
    assert await relay(engine, Temporal()).deliver_once() == (1, 1)


async def test_a_refused_command_is_retried_with_backoff_then_failed_with_its_reason(engine: AsyncEngine) -> None:
    await write(engine, start("t.start", "a", "W", "wf-a", {}), signal("t.decide", "a", "wf-a", "decide", {}))
    temporal = Temporal(refuse={"wf-a"})
    r = relay(engine, temporal, max_attempts=3, backoff_seconds=60)
    assert await r.deliver_once() == (2, 0)
    first, second = await rows(engine)
    assert (first["attempts"], first["state"], first["last_error"]) == (1, "pending", "RPCError: bad request")
    assert first["next_attempt_at"] is not None and second["attempts"] == 0  # the signal waits behind its start
    assert await r.deliver_once() == (0, 0)  # not due yet
    for attempt in (2, 3):
        await due_now(engine)
        await r.deliver_once()
        assert (await rows(engine))[0]["attempts"] == attempt
    failed, waiting = await rows(engine)
    assert (failed["state"], failed["attempts"]) == ("failed", 3) and "bad request" in failed["last_error"]
    # Given up: the workflow's later command goes on (and is refused in its turn).
    assert waiting["attempts"] == 1


async def test_a_signal_to_a_workflow_that_is_gone_fails_with_the_reason(engine: AsyncEngine) -> None:
    await write(engine, signal("t.decide", "a", "gone", "decide", {}))
    assert await relay(engine, Temporal()).deliver_once() == (1, 1)
    (row,) = await rows(engine)
    assert (row["state"], row["last_error"]) == ("failed", "workflow_not_found: gone")


async def due_now(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(TABLE).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))


async def test_the_backlog_is_sampled_for_the_dashboard(engine: AsyncEngine) -> None:
    await write(engine, start("t.start", "a", "W", "wf-a", {}), signal("t.decide", "b", "gone", "decide", {}))
    await relay(engine, Temporal()).deliver_once()  # wf-a delivered; the signal fails for good
    await write(engine, start("t.start", "c", "W", "wf-c", {}))
    await sample_commands(engine, "test", TABLE)
    assert COMMANDS_PENDING.labels("test")._value.get() == 1  # failed ones are not waiting
    assert 0 <= COMMANDS_OLDEST_AGE.labels("test")._value.get() < 60


DEFERRING = command_table("relaydefer", deferred=True)


async def test_a_deferred_start_waits_for_its_time_and_still_goes_first(tmp_path: Path) -> None:
    """issue 19: a start deferred to its `not_before` is not sent before then (Temporal holds
    nothing for it), a signal-with-start of its workflow is not held back by it, and once due it is
    made pending and keeps its place before the later commands of its workflow."""
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'deferred.db'}")
    await create_tables(eng, [DEFERRING])
    outbox = CommandOutbox(DEFERRING, deferred=True)
    temporal = Temporal()

    async def connect() -> Temporal:
        return temporal

    the_relay = CommandRelay(engine=eng, outbox=outbox, client=connect, service="test")  # type: ignore[arg-type]
    now = datetime.now(UTC)
    try:
        async with eng.begin() as conn:
            await defer_commands(
                conn,
                DEFERRING,
                [
                    start("t.start", "a", "W", "wf-a", {"a": 1}, not_before=now + timedelta(hours=1)),
                    start("t.start", "b", "W", "wf-b", {"b": 1}, not_before=now - timedelta(seconds=1)),
                ],
                now=now,
            )
            await write_commands(conn, DEFERRING, [start("t.change", "c", "W", "wf-c", {}, signal="changed", arg={})])
        assert await the_relay.deliver_once() == (2, 2)  # wf-b was due already; wf-a waits
        assert [c[1] for c in temporal.calls] == ["wf-b", "wf-c"]
        async with eng.connect() as conn:
            (waiting,) = [dict(r._mapping) for r in await conn.execute(select(DEFERRING))]
        assert (waiting["workflow_id"], waiting["state"]) == ("wf-a", "deferred")
        # Its signal is written when it is due (an application in an open window): promoted first.
        async with eng.begin() as conn:
            await conn.execute(update(DEFERRING).values(not_before=now - timedelta(seconds=1)))
            assert await promote_due(conn, DEFERRING, datetime.now(UTC)) == 1
            await write_commands(conn, DEFERRING, [signal("t.apply", "a", "wf-a", "apply", {"n": 1})])
        async with eng.connect() as conn:
            promoted = (await conn.execute(select(DEFERRING).where(DEFERRING.c.purpose == "t.start"))).one()
        # Its age as a pending command counts from when it was due, not from when it was written.
        assert (promoted.state, promoted.created_at) == ("pending", promoted.not_before)
        assert await the_relay.deliver_once() == (2, 2)
        assert [(c[0], c[1]) for c in temporal.calls[2:]] == [("start", "wf-a"), ("apply", "wf-a")]
        with pytest.raises(ValueError, match="only a start"):
            async with eng.begin() as conn:
                await defer_commands(conn, DEFERRING, [signal("t.apply", "a", "wf-a", "apply", {})], now=now)
    finally:
        await eng.dispose()
