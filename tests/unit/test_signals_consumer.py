"""The signals consumer on the frame, against SQLite: bids judged once when bidding closes (award or
quiet period) into `collusion.suspected.v1`; complaint decisions counted into determination
requests; commitments kept and a breach asked of the finance department. Everything it owes goes
through its outbox; a bad input is dead-lettered with a reason."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.cloudevents import build_event, encode_structured, parse_kafka_message
from services.common.db import make_engine
from services.common.identifiers import make_uscc
from services.common.inbound import Inbound
from services.common.messaging import write_outbox
from services.common.migrations import migrate
from services.common.topics import (
    AWARD_NOTIFIED,
    BEHAVIOUR_REPORTED,
    BID_SUBMITTED,
    COLLUSION_SUSPECTED,
    COMMITMENT_BREACHED,
    COMMITMENT_MADE,
    COMPLAINT_DECIDED,
    EVENT_REJECTED,
)
from services.signals.bid_handler import close_quiet_projects
from services.signals.handlers import CONSUMER, accept
from services.signals.models import COMMANDS, COMMITMENTS_T, MESSAGING, MIGRATIONS, TABLES
from tests.support import factories as f

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
PLATFORM = "urn:platform:luoyang-ggzy"
COMPLAINANT = make_uscc("91410300MA0000101")
COMMITTER = make_uscc("91410300MA0000102")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'signals.db'}")
    await migrate(engine, "signals", MIGRATIONS, TABLES)
    try:
        yield engine
    finally:
        await engine.dispose()


def item(type_: str, data: dict, *, id: str) -> Inbound:
    value, headers = encode_structured(build_event(type=type_, source=PLATFORM, data=data, id=id))
    return Inbound(original=None, key="k", envelope=parse_kafka_message(value, headers), value=value)


async def apply(engine: AsyncEngine, items: list[Inbound], now: datetime = NOW) -> dict[str, int]:
    async with engine.begin() as conn:
        return await accept(conn, items, now=now)


async def outbox(engine: AsyncEngine, type_: str) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(MESSAGING.outbox.c.payload).order_by(MESSAGING.outbox.c.seq))
    return [e for e in (orjson.loads(r.payload) for r in rows) if e["type"] == type_]


FACT = {
    "project": {"code": "LYCG-2026-77", "name": "办公设备采购项目"},
    "region": "410302",
    "purchaser": {"id": f.PURCHASER_ID, "name": "采购人"},
}


def bid(n: int, price: str, machine: str, at: datetime = NOW) -> dict:
    return {
        **FACT,
        "at": at.isoformat(),
        "supplier": {"id": f"S-{n}", "name": f"供应商{n}"},
        "price": price,
        "document_fingerprint": f"fp-{n}",
        "document": {"sha256": f"{n:064x}", "machine_id": machine},
    }


AWARD = {
    **FACT,
    "at": (NOW + timedelta(days=1)).isoformat(),
    "supplier": {"id": "S-1", "name": "供应商1"},
    "amount": "9",
}


async def test_three_bids_from_one_machine_give_one_suspicion_at_the_award_once(engine: AsyncEngine) -> None:
    bids = [item(BID_SUBMITTED, bid(n, p, "M-1"), id=f"b{n}") for n, p in ((1, "901234"), (2, "955555"), (3, "987001"))]
    honest = item(BID_SUBMITTED, bid(4, "1000000", "M-4"), id="b4")
    assert (await apply(engine, [*bids, honest]))["bid_kept"] == 4
    assert await outbox(engine, COLLUSION_SUSPECTED) == []  # bidding is still open
    assert (await apply(engine, [item(AWARD_NOTIFIED, AWARD, id="a1")]))["judged:1"] == 1
    (event,) = await outbox(engine, COLLUSION_SUSPECTED)
    data = event["data"]
    assert [s["id"] for s in data["suppliers"]] == ["S-1", "S-2", "S-3"]
    assert [(i["code"], i["evidence"]["field"]) for i in data["indicators"]] == [("same_machine", "machine_id")]
    assert data["indicators"][0]["basis"].startswith("洛阳办法第十条第1项")
    assert data["task_id"].startswith("collusion-")
    # The award again (another id), or a late bid: judged once.
    await apply(engine, [item(AWARD_NOTIFIED, AWARD, id="a2"), item(BID_SUBMITTED, bid(5, "1", "M-1"), id="b5")])
    assert len(await outbox(engine, COLLUSION_SUSPECTED)) == 1
    assert await outbox(engine, BEHAVIOUR_REPORTED) == []  # a signal, never a record


async def test_the_warning_masks_the_names_the_triage_task_keeps_whole(engine: AsyncEngine) -> None:
    """credit.warnings is read by purchasers and agencies: the project manager two suppliers share is
    masked there (张*明 style, CONTRACT §3); the triage task, read by finance officers only, has it whole."""
    bids = [
        item(BID_SUBMITTED, {**bid(n, p, f"M-{n}"), "project_manager": "欧阳小明"}, id=f"b{n}")
        for n, p in ((1, "901234"), (2, "1000000"))
    ]
    await apply(engine, bids)
    await apply(engine, [item(AWARD_NOTIFIED, AWARD, id="a1")])
    (event,) = await outbox(engine, COLLUSION_SUSPECTED)
    (warned,) = [i for i in event["data"]["indicators"] if i["code"] == "same_personnel"]
    assert warned["evidence"]["value"] == "欧***"
    assert {m["value"] for m in warned["evidence"]["matched"]} == {"欧***"}
    assert "欧阳小明" not in orjson.dumps(event).decode()
    async with engine.connect() as conn:
        (start_arg,) = (await conn.execute(select(COMMANDS.c.start_arg))).scalars().all()
    (whole,) = [i for i in start_arg["indicators"] if i["code"] == "same_personnel"]
    assert whole["evidence"]["value"] == "欧阳小明"
    assert {m["value"] for m in whole["evidence"]["matched"]} == {"欧阳小明"}


async def test_a_project_without_an_award_is_judged_after_the_quiet_period(engine: AsyncEngine) -> None:
    await apply(engine, [item(BID_SUBMITTED, bid(n, str(900000 + 1000 * n), f"M-{n}"), id=f"b{n}") for n in (1, 2, 3)])
    async with engine.begin() as conn:
        assert await close_quiet_projects(conn, now=NOW + timedelta(hours=71)) == []
    async with engine.begin() as conn:
        events = await close_quiet_projects(conn, now=NOW + timedelta(hours=72))
        await write_outbox(conn, MESSAGING.outbox, events)
    (event,) = await outbox(engine, COLLUSION_SUSPECTED)
    assert event["data"]["indicators"][0]["code"] == "regular_prices"


def complaint(n: int, decided_on: str, outcome: str = "unfounded", **kw: object) -> dict:
    return {
        "project": {"code": f"P-{n}", "name": "项目"},
        "region": "410302",
        "complaint_no": f"TS-{n}",
        "complainant": {"type": "supplier", "id": COMPLAINANT, "name": "甲公司"},
        "decided_on": decided_on,
        "outcome": outcome,
        **kw,
    }


async def test_the_third_unfounded_complaint_asks_for_a_sup_s_15_determination(engine: AsyncEngine) -> None:
    first = [item(COMPLAINT_DECIDED, complaint(1, "2026-01-05"), id="c1")]
    await apply(engine, [*first, item(COMPLAINT_DECIDED, complaint(2, "2026-03-01"), id="c2")])
    await apply(engine, [item(COMPLAINT_DECIDED, complaint(2, "2026-03-01"), id="c2-again")])
    assert await outbox(engine, BEHAVIOUR_REPORTED) == []  # two, the second sent twice
    await apply(engine, [item(COMPLAINT_DECIDED, complaint(3, "2026-11-20", outcome="withdrawn"), id="c3")])
    assert await outbox(engine, BEHAVIOUR_REPORTED) == []
    await apply(engine, [item(COMPLAINT_DECIDED, complaint(4, "2026-11-25"), id="c4")])
    (event,) = await outbox(engine, BEHAVIOUR_REPORTED)
    data = event["data"]
    assert (data["behaviour_code"], data["region"], data["subject"]["type"]) == ("SUP-S-15", "410302", "supplier")
    assert [c["complaint_no"] for c in data["signal"]["complaints"]] == ["TS-1", "TS-2", "TS-4"]
    assert data["signal"]["window"] == {
        "from": "2026-01-05",
        "through": "2027-01-05",
        "months": 12,
        "needed": 3,
        "counted": 3,
    }


async def test_a_fabricated_complaint_asks_at_once_and_a_bad_region_is_dead_lettered(engine: AsyncEngine) -> None:
    await apply(engine, [item(COMPLAINT_DECIDED, complaint(1, "2026-01-05", "rejected", fabricated=True), id="c1")])
    (event,) = await outbox(engine, BEHAVIOUR_REPORTED)
    assert event["data"]["behaviour_code"] == "SUP-S-16"
    bad = item(COMPLAINT_DECIDED, {**complaint(2, "2026-01-05"), "region": "999999"}, id="x")
    assert (await apply(engine, [bad]))["rejected"] == 1
    assert [e["data"]["reason"] for e in await outbox(engine, EVENT_REJECTED)] == ["invalid_identifier"]


async def test_decisions_of_regions_without_a_policy_count_nationwide(engine: AsyncEngine) -> None:
    beijing = [{**complaint(n, d), "region": "110101"} for n, d in ((1, "2026-02-01"), (2, "2026-03-01"))]
    counted = await apply(engine, [item(COMPLAINT_DECIDED, c, id=f"c{n}") for n, c in enumerate(beijing)])
    assert counted["counted"] == 2 and await outbox(engine, EVENT_REJECTED) == []
    await apply(engine, [item(COMPLAINT_DECIDED, complaint(3, "2026-04-01"), id="c3")])
    (event,) = await outbox(engine, BEHAVIOUR_REPORTED)
    assert event["data"]["region"] == "410302"


def commitment(**kw: object) -> dict:
    return {
        "commitment_id": "CM-1",
        "subject": {"type": "supplier", "id": COMMITTER, "name": "乙公司"},
        "kind": "bid",
        "text": "本公司承诺所提供资料真实有效",
        "made_on": "2026-10-01",
        **kw,
    }


async def test_a_breached_commitment_is_marked_and_asked_of_the_finance_department(engine: AsyncEngine) -> None:
    breach = {
        "commitment_id": "CM-1",
        "subject": commitment()["subject"],
        "region": "410302",
        "found_on": "2026-11-20",
        "finding": "资质证书系伪造",
    }
    # The breach before its commitment: refused for now, judged again when it comes back.
    assert (await apply(engine, [item(COMMITMENT_BREACHED, breach, id="k1")]))["rejected"] == 1
    await apply(engine, [item(COMMITMENT_MADE, commitment(), id="m1")])
    assert (await apply(engine, [item(COMMITMENT_BREACHED, breach, id="k1")]))["breach_signalled"] == 1
    async with engine.connect() as conn:
        (row,) = (await conn.execute(select(COMMITMENTS_T))).all()
    assert (row.state, row.breach["finding"]) == ("breach_found", "资质证书系伪造")
    (event,) = await outbox(engine, BEHAVIOUR_REPORTED)
    assert event["data"]["behaviour_code"] == "SUP-S-01"
    assert event["data"]["signal"]["commitment"]["id"] == "CM-1"


def test_the_consumer_reads_what_owners_say_it_reads() -> None:
    assert set(CONSUMER.reads) == {
        BID_SUBMITTED,
        AWARD_NOTIFIED,
        COMPLAINT_DECIDED,
        COMMITMENT_MADE,
        COMMITMENT_BREACHED,
    }
    assert not CONSUMER.answers_unknown
