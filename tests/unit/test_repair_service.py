"""The repair service against a real (SQLite) database: the record replica and the workflows it
orders, the one code path of applications (refusals dead-lettered with their reason, idempotency),
the workflow's writes, and the delivery of its Temporal commands (with a recording client)."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError, RPCStatusCode

from services.common.cloudevents import build_event, encode_structured
from services.common.command_relay import CommandRelay
from services.common.db import create_tables, make_engine
from services.common.inbound import Inbound, from_kafka
from services.common.lawdates import add_months
from services.common.topics import (
    APPLICATIONS as APPLICATIONS_TOPIC,
)
from services.common.topics import (
    DEAD_LETTER,
    REPAIR_CHANGED,
    REPAIR_OPENED,
    REPAIR_REQUESTED,
    TYPE_PREFIX,
)
from services.repair.applications import receive
from services.repair.changes import change_application, publish_window
from services.repair.commands import OUTBOX
from services.repair.models import APPLICATIONS, COMMANDS, MESSAGING, REPLICA, TABLES, WINDOWS
from services.repair.records import apply_records, repair_record
from workflows.repair.inputs import ApplicationChanged, RepairInput, WindowChanged

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SUBJECT = "91410300MA0000001X"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'repair.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


def inbound(event: dict, key: str = SUBJECT) -> Inbound:
    value, headers = encode_structured(event)
    (item,) = from_kafka([SimpleNamespace(value=value, headers=headers, key=key.encode())])
    return item


def record_event(
    change: str = "created",
    *,
    record_id: str = "rec-1",
    version: int = 1,
    status: str = "in_force",
    severity: str = "general",
    code: str = "SUP-G-01",
    recorded_on: date = date(2026, 1, 15),
    region: str = "410322",
) -> dict:
    data = {
        "record_id": record_id,
        "version": version,
        "status": status,
        "subject": {"type": "supplier", "id": SUBJECT, "name": "洛阳某某科技有限公司"},
        "behaviour": {"code": code, "severity": severity},
        "severity": severity,
        "region": region,
        "recorded_on": recorded_on.isoformat(),
        "valid_until": add_months(recorded_on, 12).isoformat(),
    }
    return build_event(
        type=f"{TYPE_PREFIX}record.{change}.v1",
        source="urn:credit:evaluation",
        id=f"{record_id}:v{version}",
        data=data,
    )


def repair_request(record_id: str = "rec-1", *, applicant: str = SUBJECT, commitment: str = "承诺已整改", **kw) -> dict:  # type: ignore[no-untyped-def]
    data = {
        "record_id": record_id,
        "applicant": {"type": "supplier", "id": applicant, "name": "洛阳某某科技有限公司"},
        "commitment": commitment,
        "evidence": [{"kind": "document", "uri": "https://evidence.example/fix.pdf", "sha256": "a" * 64}],
    } | kw
    return build_event(type=REPAIR_REQUESTED, source="urn:portal:luoyang", data=data)


async def records(engine: AsyncEngine, *events: dict, now: datetime = NOW) -> dict[str, int]:
    async with engine.begin() as conn:
        return await apply_records(conn, [inbound(e) for e in events], now=now)


async def submit(engine: AsyncEngine, *events: dict, now: datetime = NOW):  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        return await receive(conn, [inbound(e) for e in events], now=now)


async def rows(engine: AsyncEngine, table) -> list[dict]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(table))]


async def commands(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(COMMANDS).order_by(COMMANDS.c.seq))]


def relay(engine: AsyncEngine, client: object, **kw: object) -> CommandRelay:
    async def connect() -> object:
        return client

    return CommandRelay(engine=engine, outbox=OUTBOX, client=connect, service="repair", **kw)  # type: ignore[arg-type]


async def outbox(engine: AsyncEngine) -> list[dict]:
    out = await rows(engine, MESSAGING.outbox)
    return [{**r, "event": orjson.loads(r["payload"])} for r in sorted(out, key=lambda r: r["seq"])]


# --- the replica and the workflows it orders -------------------------------------------------------


async def test_a_general_record_gets_a_waiting_window_and_a_start_order(engine: AsyncEngine) -> None:
    counts = await records(engine, record_event())
    assert (counts["replicated"], counts["started"]) == (1, 1)
    (replica,) = await rows(engine, REPLICA)
    assert (replica["record_id"], replica["status"], replica["severity"]) == ("rec-1", "in_force", "general")
    (window,) = await rows(engine, WINDOWS)
    assert (window["state"], window["opens_on"], window["policy_version"]) == (
        "waiting",
        date(2026, 7, 16),
        "luoyang-2021",
    )
    (command,) = await rows(engine, COMMANDS)
    start = RepairInput.model_validate(command["start_arg"])
    assert (command["purpose"], start.record.record_id, start.terms.general_wait_months) == ("repair.start", "rec-1", 6)
    assert (command["action"], command["workflow"], command["workflow_id"]) == (
        "start",
        "RecordRepairWorkflow",
        "repair:rec-1",
    )
    assert start.terms.review_working_days == 10


async def test_serious_records_are_replicated_but_no_repair_is_started(engine: AsyncEngine) -> None:
    counts = await records(engine, record_event(severity="serious", code="SUP-S-03"))
    assert (counts["replicated"], counts["started"]) == (1, 0)
    assert await rows(engine, WINDOWS) == [] and await rows(engine, COMMANDS) == []


async def test_a_redelivered_record_changes_nothing(engine: AsyncEngine) -> None:
    e = record_event()
    await records(engine, e)
    counts = await records(engine, e)
    assert (counts["duplicate"], counts["started"]) == (1, 0)
    assert len(await rows(engine, COMMANDS)) == 1


async def test_later_versions_signal_the_workflow_and_other_changes_do_not(engine: AsyncEngine) -> None:
    await records(engine, record_event())
    counts = await records(
        engine,
        record_event("appealed", version=2),
        record_event("upheld", version=3),
        record_event("corrected", version=4, code="SUP-G-04"),
        record_event("expired", version=5, status="expired"),
    )
    assert counts["signalled"] == 2
    kinds = [(c["action"], c["name"], (c["arg"] or {}).get("change")) for c in await commands(engine)]
    assert kinds == [
        ("start", None, None),
        ("start", "record_changed", "record.corrected.v1"),  # signal-with-start
        ("start", "record_changed", "record.expired.v1"),
    ]
    (replica,) = await rows(engine, REPLICA)
    assert (replica["version"], replica["status"]) == (5, "expired")


async def test_records_of_other_types_and_malformed_ones_are_left_alone(engine: AsyncEngine) -> None:
    other = build_event(type=f"{TYPE_PREFIX}something.v1", source="urn:x", data={})
    (bad,) = from_kafka([SimpleNamespace(value=b"{nope", headers=[], key=b"k")])
    async with engine.begin() as conn:
        counts = await apply_records(conn, [inbound(other), bad], now=NOW)
    assert counts["ignored"] == 2
    assert await rows(engine, MESSAGING.processed) == [] and await outbox(engine) == []


# --- applications --------------------------------------------------------------------------------

IN_WINDOW = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)


async def test_an_application_is_stored_announced_and_ordered_to_the_workflow(engine: AsyncEngine) -> None:
    await records(engine, record_event())
    (outcome,) = await submit(engine, repair_request(), now=IN_WINDOW)
    assert outcome.kind == "submitted"
    (app,) = await rows(engine, APPLICATIONS)
    assert (app["state"], app["record_id"], app["subject_id"], app["version"]) == ("submitted", "rec-1", SUBJECT, 1)
    assert app["commitment"] == "承诺已整改" and len(app["evidence"]) == 1
    (event,) = [o["event"] for o in await outbox(engine)]
    assert (event["type"], event["id"], event["data"]["state"]) == (REPAIR_CHANGED, f"{app['id']}:v1", "submitted")
    assert event["data"]["evidence_count"] == 1 and "evidence" not in event["data"]  # never on Kafka
    apply = [c for c in await rows(engine, COMMANDS) if c["name"] == "apply"]
    assert (apply[0]["action"], apply[0]["arg"]["application_id"]) == ("signal", app["id"])


async def test_a_redelivered_application_finds_the_first(engine: AsyncEngine) -> None:
    await records(engine, record_event())
    e = repair_request()
    (first,) = await submit(engine, e, now=IN_WINDOW)
    (again,) = await submit(engine, e, now=IN_WINDOW)
    assert again.kind == "duplicate" and again.application["id"] == first.application["id"]
    assert len(await rows(engine, APPLICATIONS)) == 1


@pytest.mark.parametrize(
    ("request_kw", "record_kw", "now", "reason"),
    [
        ({"record_id": "rec-x"}, {}, IN_WINDOW, "record_not_found"),
        ({"applicant": "91410300MA00000099"}, {}, IN_WINDOW, "not_your_record"),
        ({"commitment": " "}, {}, IN_WINDOW, "commitment_required"),
        ({}, {}, datetime(2026, 7, 14, 4, tzinfo=UTC), "too_early"),
        ({}, {"severity": "serious", "code": "SUP-S-03"}, IN_WINDOW, "not_repairable"),
        ({}, {"change": "repaired", "status": "repaired"}, IN_WINDOW, "already_repaired"),
        ({}, {"change": "expired", "status": "expired"}, IN_WINDOW, "record_expired"),
        ({}, {"change": "corrected", "status": "withdrawn"}, IN_WINDOW, "record_withdrawn"),
        ({"evidence": "not a list"}, {}, IN_WINDOW, "invalid_data"),
    ],
)
async def test_refusals_are_dead_lettered_with_their_reason(
    engine: AsyncEngine, request_kw: dict, record_kw: dict, now: datetime, reason: str
) -> None:
    await records(engine, record_event(**record_kw))
    e = repair_request(**request_kw)
    (outcome,) = await submit(engine, e, now=now)
    assert outcome.kind == "refused" and outcome.refusal.code == reason
    dead = [o for o in await outbox(engine) if o["topic"] == DEAD_LETTER]
    assert [d["event"]["data"]["reason"] for d in dead] == [reason]
    assert dead[0]["event"]["data"]["original"]["value"]["id"] == e["id"]
    assert await rows(engine, APPLICATIONS) == []
    # Redelivered: the same refusal, and no second dead letter.
    (again,) = await submit(engine, e, now=now)
    assert again.refusal.code == reason
    assert len([o for o in await outbox(engine) if o["topic"] == DEAD_LETTER]) == 1


async def test_too_early_names_the_earliest_date(engine: AsyncEngine) -> None:
    await records(engine, record_event())
    (outcome,) = await submit(engine, repair_request(), now=datetime(2026, 7, 14, 4, tzinfo=UTC))
    assert outcome.refusal.extra == {"earliest": "2026-07-16"} and outcome.refusal.status == 409


async def test_one_open_application_per_record(engine: AsyncEngine) -> None:
    await records(engine, record_event())
    first, second = await submit(engine, repair_request(), repair_request(), now=IN_WINDOW)
    assert (first.kind, second.kind, second.refusal.code) == ("submitted", "refused", "application_open")
    assert second.refusal.extra == {"application_id": first.application["id"]}


# --- what the workflow writes --------------------------------------------------------------------


def change(app_id: str, state: str, **kw) -> ApplicationChanged:  # type: ignore[no-untyped-def]
    return ApplicationChanged(application_id=app_id, record_id="rec-1", state=state, at=IN_WINDOW, **kw)


async def test_application_changes_are_kept_and_announced_once(engine: AsyncEngine) -> None:
    await records(engine, record_event())
    (outcome,) = await submit(engine, repair_request(), now=IN_WINDOW)
    app_id = outcome.application["id"]
    async with engine.begin() as conn:
        assert await change_application(conn, change(app_id, "under_review", task_id="review-x"))
        assert not await change_application(conn, change(app_id, "under_review", task_id="review-x"))  # retried
        assert await change_application(conn, change(app_id, "rejected", reason="材料不全", opinion="补充后再申请"))
        assert not await change_application(conn, change(app_id, "approved"))  # over: nothing moves it
    (app,) = await rows(engine, APPLICATIONS)
    assert (app["state"], app["reason"], app["opinion"], app["task_id"], app["version"]) == (
        "rejected",
        "材料不全",
        "补充后再申请",
        "review-x",
        3,
    )
    assert [h["state"] for h in app["history"]] == ["submitted", "under_review", "rejected"]
    events = [o["event"] for o in await outbox(engine) if o["topic"] == APPLICATIONS_TOPIC]
    assert [(e["id"].rsplit(":", 1)[1], e["data"]["state"]) for e in events] == [
        ("v1", "submitted"),
        ("v2", "under_review"),
        ("v3", "rejected"),
    ]


async def test_the_window_opening_is_announced_once(engine: AsyncEngine) -> None:
    await records(engine, record_event())
    (replica,) = await rows(engine, REPLICA)
    record = repair_record(replica)
    opened = WindowChanged(record=record, state="open", policy_version="luoyang-2021", opens_on=date(2026, 7, 15))
    async with engine.begin() as conn:
        assert await publish_window(conn, opened, now=NOW)
        assert not await publish_window(conn, opened, now=NOW)
    (window,) = await rows(engine, WINDOWS)
    assert window["state"] == "open"
    (event,) = [o["event"] for o in await outbox(engine)]
    assert (event["type"], event["data"]["opens_on"], event["data"]["subject"]["id"]) == (
        REPAIR_OPENED,
        "2026-07-15",
        SUBJECT,
    )


# --- delivery of the commands ------------------------------------------------------------------


class RecordingClient:
    """Stands in for the Temporal client: records calls; `gone` workflows answer NOT_FOUND;
    `failing`: every call fails as if the server were down."""

    def __init__(self, gone: set[str] = frozenset(), failing: bool = False) -> None:  # type: ignore[assignment]
        self.calls: list[tuple[str, str]] = []
        self.starts: list[dict] = []
        self.gone = gone
        self.failing = failing

    async def start_workflow(self, fn, arg, *, id: str, **kw) -> None:  # type: ignore[no-untyped-def]
        if self.failing:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        # A record change goes as signal-with-start (it ends a start delay).
        self.calls.append((kw.get("start_signal") or "start", id))
        self.starts.append({"workflow": fn, "arg": arg, "id": id, **kw})

    def get_workflow_handle(self, workflow_id: str):  # type: ignore[no-untyped-def]
        client = self

        class Handle:
            async def signal(self, name: str, arg: dict) -> None:
                if workflow_id in client.gone:
                    raise RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")
                client.calls.append((name, workflow_id))

        return Handle()


async def test_each_records_commands_are_sent_in_order(engine: AsyncEngine) -> None:
    await records(engine, record_event(), record_event(record_id="rec-2"))
    await records(engine, record_event("expired", version=2, status="expired"))
    client = RecordingClient()
    pending, sent = await relay(engine, client).deliver_once()
    assert (pending, sent) == (3, 3)
    assert [c for c in client.calls if c[1] == "repair:rec-1"] == [
        ("start", "repair:rec-1"),
        ("record_changed", "repair:rec-1"),
    ]
    assert await rows(engine, COMMANDS) == []
    # Started by type name; a change carries the start input worked out when it is sent.
    (change,) = [s for s in client.starts if s.get("start_signal")]
    assert {s["workflow"] for s in client.starts} == {"RecordRepairWorkflow"}
    assert RepairInput.model_validate(change["arg"]).record.record_id == "rec-1"


async def test_commands_stay_while_temporal_is_down(engine: AsyncEngine) -> None:
    await records(engine, record_event())
    with pytest.raises(RPCError):
        await relay(engine, RecordingClient(failing=True)).deliver_once()
    (command,) = await rows(engine, COMMANDS)
    assert (command["state"], command["attempts"]) == ("pending", 0)  # an outage is not an attempt


async def test_an_application_to_a_finished_repair_is_refused(engine: AsyncEngine) -> None:
    await records(engine, record_event())
    (outcome,) = await submit(engine, repair_request(), now=IN_WINDOW)
    client = RecordingClient(gone={"repair:rec-1"})
    woken = []
    await relay(engine, client, on_change=lambda: woken.append(1)).deliver_once()
    (app,) = await rows(engine, APPLICATIONS)
    assert (app["id"], app["state"], app["code"]) == (outcome.application["id"], "refused", "repair_closed")
    assert woken == [1]
    assert await rows(engine, COMMANDS) == []


async def test_no_repair_for_a_record_whose_year_is_over(engine: AsyncEngine) -> None:
    # Read again from the beginning of credit.records long after: its repair would close at once.
    counts = await records(engine, record_event(recorded_on=date(2024, 1, 15)))
    assert (counts["replicated"], counts["started"]) == (1, 0)


async def test_a_start_waits_in_the_outbox_until_its_window_opens(engine: AsyncEngine) -> None:
    """issue 19: Temporal holds nothing for a record whose window opens in months — its start is
    deferred in the command outbox; a change starts the workflow at once (signal-with-start); an
    application in the open window makes the start pending first, so the start goes before `apply`."""
    recorded = date(2026, 11, 1)  # the window opens on 2027-05-02
    await records(engine, record_event(recorded_on=recorded), record_event(record_id="rec-2", recorded_on=recorded))
    states = [(c["workflow_id"], c["state"]) for c in await commands(engine)]
    assert states == [("repair:rec-1", "deferred"), ("repair:rec-2", "deferred")]
    client = RecordingClient()
    assert await relay(engine, client).deliver_once() == (0, 0)
    assert client.calls == []
    await records(engine, record_event("corrected", record_id="rec-2", version=2, recorded_on=recorded))
    await relay(engine, client).deliver_once()
    assert client.calls == [("record_changed", "repair:rec-2")]  # not held back by the deferred start

    opened = datetime(2027, 6, 1, 2, 0, tzinfo=UTC)
    (outcome,) = await submit(engine, repair_request(), now=opened)
    assert outcome.kind == "submitted"
    await relay(engine, client).deliver_once()
    assert [c for c in client.calls if c[1] == "repair:rec-1"] == [("start", "repair:rec-1"), ("apply", "repair:rec-1")]
    # rec-2's start was made pending with rec-1's (its time has come too): a no-op start in Temporal.
    assert await rows(engine, COMMANDS) == []
