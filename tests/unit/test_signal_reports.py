"""Issue 14: a signal ends in a record through the normal determination path. The signals service
files its case as `behaviour.reported.v1` in the system's name; evaluation keeps the request and asks
casework for the task (with the signal for the officer); `determine` records it as the finance
department's. Only the signals service's source may report as the system."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.frame import handle_batch
from services.common.topics import (
    COMMITMENT_BREACHED,
    COMMITMENT_MADE,
    DETERMINATION_REQUESTED,
    SUBJECT_STATUS_CHANGED,
    TASKS,
)
from services.evaluation.experts.handlers import training_consumer
from services.evaluation.records.commitments import RECORDED_T, commitments_of
from services.evaluation.records.determinations import apply_determination
from services.signals.requests import SOURCE, determination_request
from tests.support import factories as f
from tests.unit.test_intake_sqlite import RECORDS_T, TASKS_T, engine, inbound, ingest_batch, outbox  # noqa: F401
from workflows.record_inputs import DeterminationApplied

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
SUPPLIER = f.new_uscc()
SIGNAL = {"rule": "洛阳 Art. 10(1)", "indicators": [{"code": "same_machine", "bids": ["b1", "b2", "b3"]}]}


def signal_event(*, source: str = SOURCE) -> dict:
    out = determination_request(
        key=f"collusion:P-1:{SUPPLIER}",
        region="410322",
        subject={"type": "supplier", "id": SUPPLIER, "name": "甲公司"},
        code="SUP-S-08",
        occurred_on=date(2026, 11, 19),
        project={"code": "P-1"},
        signal=SIGNAL,
        now=NOW,
    )
    return {**out.event, "source": source}


def determine(request_id: str) -> DeterminationApplied:
    return DeterminationApplied(
        request_id=request_id,
        decision="determine",
        reason="经调查属实",
        fields={
            "determination": {
                "decision_no": "洛财购处〔2026〕9号",
                "decided_on": "2026-11-21",
                "liability_ends_on": "2028-11-20",
                "penalty": "一年内禁止参加政府采购活动",
            }
        },
        decided_by="officer-a",
        decided_by_org="410300",
        decided_at=NOW,
    )


async def test_a_signal_opens_a_task_with_its_findings_and_determine_records_it(engine: AsyncEngine) -> None:  # noqa: F811
    (outcome,) = await ingest_batch(engine, [inbound(signal_event())])
    assert (outcome.kind, outcome.status) == ("determination_opened", 202)
    (requested,) = await outbox(engine)
    assert (requested["topic"], requested["event"]["type"]) == (TASKS, DETERMINATION_REQUESTED)
    data = requested["event"]["data"]
    assert data["reporter"]["type"] == "system" and data["behaviour"]["signal"] == SIGNAL
    assert (data["project"]["code"], data["project"]["name"]) == ("P-1", "P-1")

    result = await apply_determination(engine, determine(outcome.task_id or ""), now=NOW)
    assert result.applied and result.record_id
    async with engine.connect() as conn:
        (record,) = (await conn.execute(select(RECORDS_T))).mappings().all()
        (task,) = (await conn.execute(select(TASKS_T))).mappings().all()
    assert (record["subject_id"], record["behaviour_code"], record["severity"]) == (SUPPLIER, "SUP-S-08", "serious")
    assert (record["reporter_type"], record["reporter_id"]) == ("finance", "410300")
    assert (task["state"], task["record_id"]) == ("recorded", record["id"])


async def test_only_the_signals_service_reports_as_the_system(engine: AsyncEngine) -> None:  # noqa: F811
    (outcome,) = await ingest_batch(engine, [inbound(signal_event(source="urn:eproc:luoyang"))])
    assert (outcome.kind, outcome.reason, outcome.status) == ("rejected", "not_authorised", 403)
    data = f.report_data(code="SUP-S-01", reporter_type="purchaser")
    (outcome,) = await ingest_batch(engine, [inbound(f.event({**data, "signal": SIGNAL}))])
    assert outcome.kind == "rejected"  # a signal only from the system reporter
    async with engine.connect() as conn:
        assert (await conn.execute(select(TASKS_T))).all() == []


SUBJECT = {"type": "supplier", "id": SUPPLIER, "name": "甲公司"}


def commitment_events(cid: str) -> tuple[dict, dict]:
    """`commitment.made.v1` and `commitment.breached.v1` data (without its finding) for `cid`."""
    made = {"commitment_id": cid, "subject": SUBJECT, "kind": "bid", "text": "资料真实", "made_on": "2026-10-01"}
    breach = {"commitment_id": cid, "subject": SUBJECT, "region": "410322", "found_on": "2026-11-20"}
    return made, breach


async def feed(engine: AsyncEngine, type_: str, data: dict) -> None:  # noqa: F811
    """One application event through evaluation's consumer of credit.inbound.applications."""
    async with engine.begin() as conn:
        await handle_batch(training_consumer("410300"), conn, [inbound(f.event(data, type=type_))], now=NOW)


async def determine_breach(engine: AsyncEngine, cid: object) -> str:  # noqa: F811
    """The signals service's determination request on `cid`'s breach, determined: the record's id."""
    out = determination_request(
        key=f"commitment:{cid}",
        region="410322",
        subject=SUBJECT,
        code="SUP-S-01",
        occurred_on=date(2026, 11, 20),
        project={},
        signal={"rule": "山东 (十三)", "commitment": {"id": cid}},
        now=NOW,
    )
    (outcome,) = await ingest_batch(engine, [inbound(out.event)])
    result = await apply_determination(engine, determine(outcome.task_id or ""), now=NOW)
    assert result.applied and result.record_id
    return result.record_id


async def test_a_commitment_is_in_the_archive_and_breached_once_its_determination_is_recorded(
    engine: AsyncEngine,  # noqa: F811
) -> None:
    made, breach = commitment_events("CM-9")
    await feed(engine, COMMITMENT_BREACHED, {**breach, "finding": "伪造"})  # before its commitment: refused for now
    await feed(engine, COMMITMENT_MADE, made)
    await feed(engine, COMMITMENT_BREACHED, {**breach, "finding": "伪造"})
    async with engine.connect() as conn:
        (shown,) = await commitments_of(conn, f"supplier:{SUPPLIER}")
    assert (shown["state"], shown["finding"], shown["record_id"]) == ("breach_found", "伪造", None)

    record_id = await determine_breach(engine, "CM-9")
    async with engine.connect() as conn:
        (shown,) = await commitments_of(conn, f"supplier:{SUPPLIER}")
    assert (shown["state"], shown["record_id"]) == ("breached", record_id)
    (status,) = [o for o in await outbox(engine) if o["event"]["type"] == SUBJECT_STATUS_CHANGED]
    (public,) = status["event"]["data"]["commitments_breached"]
    assert (public["commitment_id"], public["record_id"]) == ("CM-9", record_id)


async def test_a_determination_recorded_before_its_commitment_arrives_is_taken_by_it(
    engine: AsyncEngine,  # noqa: F811
) -> None:
    """The signals service read the breach and the officer decided before this service's consumer
    read the commitment: the archive ends as if in order, and the public status names it."""
    made, breach = commitment_events("CM-10")
    record_id = await determine_breach(engine, "CM-10")
    async with engine.connect() as conn:
        assert await commitments_of(conn, f"supplier:{SUPPLIER}") == []

    await feed(engine, COMMITMENT_MADE, made)
    async with engine.connect() as conn:
        (shown,) = await commitments_of(conn, f"supplier:{SUPPLIER}")
    assert (shown["state"], shown["record_id"]) == ("breached", record_id)
    *_, status = [o for o in await outbox(engine) if o["event"]["type"] == SUBJECT_STATUS_CHANGED]
    (public,) = status["event"]["data"]["commitments_breached"]
    assert (public["commitment_id"], public["record_id"]) == ("CM-10", record_id)

    await feed(engine, COMMITMENT_BREACHED, {**breach, "finding": "伪造"})  # its finding, late: still breached
    await feed(engine, COMMITMENT_BREACHED, {**breach, "finding": "另一说法", "found_on": "2026-11-21"})  # first stands
    async with engine.connect() as conn:
        (shown,) = await commitments_of(conn, f"supplier:{SUPPLIER}")
    assert (shown["state"], shown["record_id"], shown["finding"], shown["found_on"]) == (
        "breached",
        record_id,
        "伪造",
        "2026-11-20",
    )


async def test_a_record_marks_only_its_own_subjects_commitment(engine: AsyncEngine) -> None:  # noqa: F811
    """A determination on one subject that names another subject's commitment marks nothing of the
    other's, whether that commitment was there before or arrives after."""
    other = {"type": "supplier", "id": f.new_uscc(), "name": "乙公司"}
    for cid in ("CM-11", "CM-12"):
        made, _ = commitment_events(cid)
        if cid == "CM-11":
            await feed(engine, COMMITMENT_MADE, {**made, "subject": other})  # there before the record
        await determine_breach(engine, cid)  # the record is SUPPLIER's
        if cid == "CM-12":
            await feed(engine, COMMITMENT_MADE, {**made, "subject": other})  # arrives after it
    async with engine.connect() as conn:
        shown = await commitments_of(conn, f"supplier:{other['id']}")
    assert sorted((c["commitment_id"], c["state"], c["record_id"]) for c in shown) == [
        ("CM-11", "made", None),
        ("CM-12", "made", None),
    ]


@pytest.mark.parametrize("cid", ["C" * 101, 7, ""])
async def test_a_signal_naming_no_valid_commitment_still_records_and_links_nothing(
    engine: AsyncEngine,  # noqa: F811
    cid: object,
) -> None:
    await determine_breach(engine, cid)  # recorded (it asserts so)
    async with engine.connect() as conn:
        assert (await conn.execute(select(RECORDED_T))).all() == []
