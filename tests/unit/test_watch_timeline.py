"""The watch's handler of procurement facts (services/watch/intake.py on the consumer frame,
timeline.py) on SQLite: facts stored once, any order settles the same, conflicts kept and flagged,
clocks started and stopped through the dispatch table, bad events dead-lettered with their reason."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.cloudevents import build_event
from services.common.db import create_tables, make_engine
from services.common.topics import event_type
from services.watch.commands import CLOCK_START, CLOCK_STOP, INTERCEPT
from services.watch.intake import receive
from services.watch.models import CLOCKS, COMMANDS, DISPATCH, FACTS, MESSAGING, TABLES
from tests.support.procurement import inbound, procurement_event, watch_database

# A Thursday: the award's 2 working days (Xuchang, 004 #18) end on Monday 2024-03-11.
AWARD_AT = datetime(2024, 3, 7, 10, 0, tzinfo=UTC)
SIGNED_AT = datetime(2024, 3, 8, 9, 0, tzinfo=UTC)
NOW = datetime(2024, 3, 8, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with watch_database(tmp_path) as eng:
        yield eng


async def apply(engine: AsyncEngine, *events: dict):  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        return await receive(conn, [inbound(e) for e in events], now=NOW)


KIND = {CLOCK_START: "start", CLOCK_STOP: "stop"}


async def state(engine: AsyncEngine) -> dict:
    async with engine.connect() as conn:
        clocks = [dict(r) for r in (await conn.execute(select(CLOCKS).order_by(CLOCKS.c.clock_id))).mappings()]
        checks = [dict(r) for r in (await conn.execute(select(DISPATCH).order_by(DISPATCH.c.seq))).mappings()]
        commands = [dict(r) for r in (await conn.execute(select(COMMANDS).order_by(COMMANDS.c.seq))).mappings()]
        facts = [dict(r) for r in (await conn.execute(select(FACTS))).mappings()]
        letters = [
            orjson.loads(r.payload)
            for r in await conn.execute(select(MESSAGING.outbox.c.payload).order_by(MESSAGING.outbox.c.seq))
        ]
    keep = ("clock_id", "stage", "due_on", "done_at", "late", "provisional")
    return {
        "clocks": [{k: c[k] for k in keep} for c in clocks],
        # Clock starts and stops in the command outbox, by kind (watch.clock_start -> start).
        "dispatch": [(c["ref"], KIND[c["purpose"]]) for c in commands if c["purpose"] in (CLOCK_START, CLOCK_STOP)],
        "other_commands": [(d["clock_id"], d["kind"], d["payload"]) for d in checks]
        + [(c["ref"], "intercept", c["start_arg"]) for c in commands if c["purpose"] == INTERCEPT],
        "facts": facts,
        "letters": letters,
    }


async def test_award_opens_a_clock_due_in_two_working_days(engine: AsyncEngine) -> None:
    (outcome,) = await apply(engine, procurement_event("award.notified", code="P1", at=AWARD_AT))
    assert outcome.kind == "accepted" and outcome.clocks_opened == 1
    s = await state(engine)
    assert [c["due_on"].isoformat() for c in s["clocks"]] == ["2024-03-11"]
    assert s["dispatch"] == [("411000:P1:contract_signing:", "start")]


async def test_reverse_order_settles_to_the_same_state(engine: AsyncEngine, tmp_path: Path) -> None:
    award = procurement_event("award.notified", code="P2", at=AWARD_AT)
    signed = procurement_event("contract.signed", code="P2", at=SIGNED_AT, contract_no="C-1")
    await apply(engine, award)
    await apply(engine, signed)
    in_order = await state(engine)
    other = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'reverse.db'}")
    await create_tables(other, TABLES)
    try:
        await apply(other, signed)
        await apply(other, award)
        reverse = await state(other)
    finally:
        await other.dispose()
    signing = [c for c in in_order["clocks"] if c["stage"] == "contract_signing"]
    assert signing and signing[0]["late"] is False and signing[0]["done_at"] is not None
    assert {(c["clock_id"], c["due_on"], c["late"]) for c in in_order["clocks"]} == {
        (c["clock_id"], c["due_on"], c["late"]) for c in reverse["clocks"]
    }
    # Either way the signing clock needs no workflow: in order, its start had not been sent yet and
    # was taken back when the contract came (its stop is still written, in case the relay was
    # sending that start: it finds no workflow and is done).
    signing_id = "411000:P2:contract_signing:"
    assert (signing_id, "start") not in in_order["dispatch"] + reverse["dispatch"]
    assert [c for c in in_order["dispatch"] if c[0] != signing_id] == reverse["dispatch"]
    assert (signing_id, "stop") in in_order["dispatch"] and signing_id not in dict(reverse["dispatch"])
    # Signing opened the publication and filing clocks (1 working day each in Xuchang).
    assert {c["stage"] for c in reverse["clocks"]} == {"contract_signing", "contract_publication", "contract_filing"}


async def test_the_same_event_twice_is_one_fact_and_one_clock(engine: AsyncEngine) -> None:
    award = procurement_event("award.notified", code="P3", at=AWARD_AT)
    first = await apply(engine, award, award)
    second = await apply(engine, award)
    assert [o.kind for o in first] == ["accepted", "duplicate"] and second[0].kind == "duplicate"
    s = await state(engine)
    assert len(s["facts"]) == 1 and len(s["clocks"]) == 1 and len(s["dispatch"]) == 1


async def test_a_conflicting_signing_time_is_kept_and_flagged(engine: AsyncEngine) -> None:
    await apply(engine, procurement_event("award.notified", code="P4", at=AWARD_AT))
    a = procurement_event("contract.signed", code="P4", at=SIGNED_AT, contract_no="C-1")
    b = procurement_event("contract.signed", code="P4", at=datetime(2024, 3, 15, 9, tzinfo=UTC), contract_no="C-1")
    _, (outcome,) = await apply(engine, a), await apply(engine, b)
    assert outcome.kind == "accepted" and outcome.conflict
    s = await state(engine)
    signed = [f for f in s["facts"] if f["type"] == "contract.signed"]
    assert len(signed) == 2 and sum(1 for f in signed if f["conflicts_with"]) == 1
    # The clock keeps the first signing: in time, not overwritten by the later one.
    (signing,) = [c for c in s["clocks"] if c["stage"] == "contract_signing"]
    assert signing["late"] is False


async def test_refusals_are_dead_lettered_with_their_reason(engine: AsyncEngine) -> None:
    outcomes = await apply(
        engine,
        procurement_event("award.notified", code="P5", at=AWARD_AT, region="110000"),
        procurement_event("award.notified", code="P6", at=AWARD_AT, supplier="91411000MA000000XX"),
        procurement_event("award.notified", code="P7", at=AWARD_AT, region="4110"),
        procurement_event("tender.cancelled", code="P8", at=AWARD_AT),
    )
    assert [o.reason for o in outcomes] == ["no_policy", "invalid_identifier", "invalid_data", "unknown_type"]
    s = await state(engine)
    assert [letter["data"]["reason"] for letter in s["letters"]] == [
        "no_policy",
        "invalid_identifier",
        "invalid_data",
        "unknown_type",
    ]
    assert s["facts"] == [] and s["clocks"] == []


async def test_an_invoice_not_payable_starts_no_payment_clock(engine: AsyncEngine) -> None:
    ev = procurement_event("invoice.received", code="P9", at=AWARD_AT, contract_no="C-9", payable=False)
    (outcome,) = await apply(engine, ev)
    assert outcome.kind == "accepted" and outcome.clocks_opened == 0


async def test_suppliers_at_award_and_contract_are_checked_and_forbidden_deposits_intercepted(
    engine: AsyncEngine,
) -> None:
    await apply(engine, procurement_event("award.notified", code="P10", at=AWARD_AT))
    signed = procurement_event(
        "contract.signed", code="P10", at=SIGNED_AT, contract_no="C-10", deposits={"bid": "0", "performance": "5000"}
    )
    await apply(engine, signed)
    s = await state(engine)
    checks = [(key, p["stage"]) for key, kind, p in s["other_commands"] if kind == "check"]
    assert [stage for _, stage in checks] == ["award.notified", "contract.signed"]
    (intercept,) = [p for _, kind, p in s["other_commands"] if kind == "intercept"]
    assert (intercept["rule"], intercept["subject"]["type"]) == ("deposit_forbidden", "agency")
    assert "004 第19项" in intercept["basis"] and "performance deposit 5000" in intercept["detail"]
    (raised,) = [e for e in s["letters"] if e["type"].endswith("interception.raised.v1")]
    assert raised["data"]["task_id"] == f"interception:{intercept['interception_id']}"


async def test_deposits_are_not_intercepted_where_the_region_allows_them(engine: AsyncEngine) -> None:
    signed = procurement_event(
        "contract.signed", code="P11", at=SIGNED_AT, contract_no="C-11", region="410300",
        deposits={"bid": "1000", "performance": "0"},
    )  # fmt: skip
    (outcome,) = await apply(engine, signed)
    assert outcome.kind == "accepted"
    s = await state(engine)
    assert [kind for _, kind, _ in s["other_commands"]] == ["check"] and s["letters"] == []


async def test_a_clock_whose_start_was_sent_is_stopped_on_temporal(engine: AsyncEngine) -> None:
    await apply(engine, procurement_event("award.notified", code="P12", at=AWARD_AT))
    async with engine.begin() as conn:  # the command relay sent the start and deleted its row
        await conn.execute(COMMANDS.delete().where(COMMANDS.c.purpose == CLOCK_START))
    await apply(engine, procurement_event("contract.signed", code="P12", at=SIGNED_AT, contract_no="C-12"))
    s = await state(engine)
    assert ("411000:P12:contract_signing:", "stop") in s["dispatch"]
    assert ("411000:P12:contract_signing:", "start") not in s["dispatch"]


async def test_on_the_frame_a_complaint_decision_is_passed_over_and_a_reused_id_is_a_conflict(
    engine: AsyncEngine,
) -> None:
    complaint = build_event(
        type=event_type("complaint.decided.v1"),
        source="urn:eproc:xuchang",
        id="c-1",
        data={"anything": 1, "project": {"code": "P13"}},
    )
    award = procurement_event("award.notified", code="P13", at=AWARD_AT, id="same-id")
    other = procurement_event("award.notified", code="P14", at=AWARD_AT, id="same-id")
    assert [o.kind for o in await apply(engine, complaint, award)] == ["not_mine", "accepted"]
    (conflict,) = await apply(engine, other)
    assert (conflict.kind, conflict.reason) == ("rejected", "duplicate_id_conflict")
    s = await state(engine)
    assert [f["project_code"] for f in s["facts"]] == ["P13"]
    assert [letter["data"]["reason"] for letter in s["letters"]] == ["duplicate_id_conflict"]


async def test_a_batch_costs_the_same_statements_whatever_its_size(engine: AsyncEngine) -> None:
    """The frame keeps the watch's bulk shape: one processed-event read, three timeline reads, bulk
    writes — as many statements for forty projects as for two."""

    async def statements(n: int, prefix: str) -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            seen.append(statement)

        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", count)
        try:
            events = [procurement_event("award.notified", code=f"{prefix}{i}", at=AWARD_AT) for i in range(n)]
            assert {o.kind for o in await apply(engine, *events)} == {"accepted"}
        finally:
            event.remove(sync, "before_cursor_execute", count)
        return len([s for s in seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))])

    small, large = await statements(2, "S"), await statements(40, "L")
    assert small == large, (small, large)
    assert 4 <= large <= 10  # the reads above; inserts of facts, clocks, checks, commands, marks


async def test_a_shenyang_award_opens_the_national_clock_and_is_no_longer_refused(engine: AsyncEngine) -> None:
    # 和平区 (210102), under Shenyang's layer (national deadlines only): the award's 30 calendar days
    # (政府采购法 第四十六条) from Thursday 2024-03-07 end on Saturday 6 April, a day off after 清明
    # (4-6 April), so on Sunday 7 April, a 调休 working day.
    award = procurement_event("award.notified", code="SY1", at=AWARD_AT, region="210102")
    (outcome,) = await apply(engine, award)
    assert outcome.kind == "accepted" and outcome.clocks_opened == 1
    signed = procurement_event("contract.signed", code="SY1", at=SIGNED_AT, region="210102", contract_no="C-SY1")
    (outcome,) = await apply(engine, signed)
    assert outcome.kind == "accepted" and outcome.clocks_opened == 2  # publication and filing
    s = await state(engine)
    due = {c["stage"]: (c["due_on"].isoformat(), c["done_at"] is not None) for c in s["clocks"]}
    assert due == {
        "contract_signing": ("2024-04-07", True),
        "contract_publication": ("2024-03-12", False),  # 2 working days from Friday 8 March (实施条例 第五十条)
        "contract_filing": ("2024-03-19", False),  # 7 working days (政府采购法 第四十七条)
    }
    assert not [letter for letter in s["letters"] if letter["data"].get("reason") == "no_policy"]
