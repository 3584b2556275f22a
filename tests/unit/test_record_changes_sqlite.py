"""Changes of records after they were made (repair, objection, upholding, correction, withdrawal)
and determinations applied from a task, against a real (SQLite) database: one new version each,
chained in the history, the record event and the subject's new status in the same transaction, and
nothing done twice."""

from datetime import UTC, date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.topics import RECORD_CORRECTED, RECORD_CREATED, RECORD_REPAIRED, RECORD_UPHELD, RECORDS, SUBJECTS
from services.evaluation.ledger.hashes import chain_hash
from services.evaluation.models import DeterminationTask
from services.evaluation.records import changes as rc
from services.evaluation.records.determinations import apply_determination
from tests.support import factories as f
from tests.unit.test_intake_sqlite import (
    HISTORY_T,
    NOW,
    RECORDS_T,
    inbound,
    ingest_batch,
    outbox,
    report_event,
    rows,
)
from tests.unit.test_intake_sqlite import engine as engine  # noqa: F401 - the fixture
from workflows.record_inputs import AppealMark, AppealResolution, DeterminationApplied, RepairDecision

LATER = NOW + timedelta(days=200)


def determination(**overrides) -> dict:  # type: ignore[no-untyped-def]
    """A determination decided the day before NOW (factories' is relative to the real today)."""
    return {**f.determination(), "decided_on": "2026-11-21", "liability_ends_on": "2028-11-21", **overrides}


REQUESTS_T = DeterminationTask.__table__  # type: ignore[attr-defined]


async def record(engine: AsyncEngine, **overrides) -> str:  # type: ignore[no-untyped-def]
    (outcome,) = await ingest_batch(engine, [inbound(report_event(**overrides))])
    assert outcome.record_id is not None
    return outcome.record_id


async def change(engine: AsyncEngine, record_id: str, name: str, apply: rc.Change):  # type: ignore[no-untyped-def]
    return await rc.change_record(
        engine, record_id, change=name, event_type=rc.EVENTS[name], actor="finance:officer-b", now=LATER, apply=apply
    )


def repair_input(record_id: str, application_id: str = "rep-1") -> RepairDecision:
    return RepairDecision(
        record_id=record_id,
        application_id=application_id,
        reason="整改到位",
        opinion="同意修复",
        commitment="信用承诺书",
        decided_by="officer-b",
        decided_at=LATER,
    )


def resolution(record_id: str, appeal_id: str = "apl-1", **corrections) -> AppealResolution:  # type: ignore[no-untyped-def]
    return AppealResolution(
        record_id=record_id,
        appeal_id=appeal_id,
        reason="证据表明记录有误",
        decided_by="officer-b",
        decided_at=LATER,
        corrections=corrections,
    )


def mark(record_id: str, appeal_id: str = "apl-1") -> AppealMark:
    return AppealMark(record_id=record_id, appeal_id=appeal_id, filed_at=LATER, applicant={"type": "supplier"})


async def test_repair_makes_a_chained_version_the_event_and_a_clean_status(engine: AsyncEngine) -> None:
    record_id = await record(engine)
    before = len(await outbox(engine))
    result = await change(engine, record_id, "repaired", rc.repair(repair_input(record_id)))
    assert (result.applied, result.version, result.status) == (True, 2, "repaired")
    (row,) = await rows(engine, RECORDS_T)
    assert row["status"] == "repaired"
    assert row["resolution"]["reason"] == "整改到位" and row["resolution"]["opinion"] == "同意修复"
    v1, v2 = await rows(engine, HISTORY_T, order_by=HISTORY_T.c.version)
    assert (v2["version"], v2["change"], v2["prev_hash"]) == (2, "repaired", v1["hash"])
    assert v2["hash"] == chain_hash(v1["hash"], v2["snapshot"])
    assert v2["snapshot"]["resolution"]["opinion"] == "同意修复"  # the archive keeps the opinion
    repaired, status = (await outbox(engine))[before:]
    assert (repaired["topic"], repaired["event"]["type"]) == (RECORDS, RECORD_REPAIRED)
    assert repaired["event"]["data"]["resolution"] == {"kind": "repaired", "decided_on": "2027-06-10"}
    assert "reason" not in repaired["event"]["data"]["resolution"]  # reasons stay in the archive
    assert (status["topic"], status["event"]["data"]["status"]) == (SUBJECTS, "clean")


async def test_a_repeated_repair_changes_nothing(engine: AsyncEngine) -> None:
    record_id = await record(engine)
    await change(engine, record_id, "repaired", rc.repair(repair_input(record_id)))
    n = len(await outbox(engine))
    again = await change(engine, record_id, "repaired", rc.repair(repair_input(record_id)))
    assert (again.applied, again.version) == (False, 2)
    other = await change(engine, record_id, "repaired", rc.repair(repair_input(record_id, "rep-2")))
    assert not other.applied and "repaired" in other.note
    assert len(await outbox(engine)) == n
    assert len(await rows(engine, HISTORY_T)) == 2


async def test_an_objection_keeps_the_record_in_force_and_marks_it(engine: AsyncEngine) -> None:
    record_id = await record(engine)
    result = await change(engine, record_id, "appealed", rc.mark_appealed(mark(record_id)))
    assert (result.applied, result.status) == (True, "in_force")
    event = (await outbox(engine))[-1]["event"]
    assert event["data"]["appeal"] == {"appeal_id": "apl-1", "state": "open"}
    assert event["data"]["status"] == "in_force"
    second = await change(engine, record_id, "appealed", rc.mark_appealed(mark(record_id, "apl-2")))
    assert not second.applied and "apl-1" in second.note
    facts = await rc.record_facts(engine, record_id)
    assert facts is not None and facts.open_appeal_id == "apl-1"


async def test_upholding_removes_the_mark_and_keeps_the_record(engine: AsyncEngine) -> None:
    record_id = await record(engine)
    await change(engine, record_id, "appealed", rc.mark_appealed(mark(record_id)))
    result = await change(engine, record_id, "upheld", rc.uphold(resolution(record_id)))
    assert (result.applied, result.status, result.version) == (True, "in_force", 3)
    event = (await outbox(engine))[-1]["event"]
    assert event["type"] == RECORD_UPHELD and event["data"]["appeal"] is None
    again = await change(engine, record_id, "upheld", rc.uphold(resolution(record_id)))
    assert not again.applied


async def test_a_correction_without_fields_withdraws_the_record(engine: AsyncEngine) -> None:
    record_id = await record(engine, code="SUP-S-01", reporter_type="finance", determination=determination())
    await change(engine, record_id, "appealed", rc.mark_appealed(mark(record_id)))
    result = await change(engine, record_id, "corrected", rc.correct(resolution(record_id)))
    assert (result.applied, result.status) == (True, "withdrawn")
    events = [o["event"] for o in await outbox(engine)]
    corrected = [e for e in events if e["type"] == RECORD_CORRECTED]
    assert corrected[-1]["data"]["status"] == "withdrawn"
    assert events[-1]["data"]["blacklisted"] is False  # the subject's status follows


async def test_a_correction_to_a_general_code_recomputes_validity(engine: AsyncEngine) -> None:
    record_id = await record(engine, code="SUP-S-01", reporter_type="finance", determination=determination())
    await change(engine, record_id, "appealed", rc.mark_appealed(mark(record_id)))
    result = await change(engine, record_id, "corrected", rc.correct(resolution(record_id, behaviour_code="SUP-G-03")))
    assert (result.applied, result.status) == (True, "in_force")
    (row,) = await rows(engine, RECORDS_T)
    assert (row["behaviour_code"], row["severity"], row["determination"]) == ("SUP-G-03", "general", None)
    assert row["valid_until"] == date(2027, 11, 22)  # recorded 2026-11-22 + 12 months
    status = (await outbox(engine))[-1]["event"]["data"]
    assert (status["status"], status["blacklisted"]) == ("general_record", False)


async def test_point10_a_correction_never_raises_a_general_record_to_serious(engine: AsyncEngine) -> None:
    """Issue 16 point 10: by analogy with 行政复议法 Art. 63 the objector's objection never worsens
    its position: general → serious is refused even with a determination, as is a longer liability."""
    record_id = await record(engine)
    await change(engine, record_id, "appealed", rc.mark_appealed(mark(record_id)))
    with pytest.raises(rc.InvalidCorrection, match="general"):
        await change(
            engine,
            record_id,
            "corrected",
            rc.correct(resolution(record_id, behaviour_code="SUP-S-02", determination=determination())),
        )
    (row,) = await rows(engine, RECORDS_T)
    assert (row["severity"], row["behaviour_code"]) == ("general", "SUP-G-01")
    serious = await record(engine, code="SUP-S-01", reporter_type="finance", determination=determination())
    await change(engine, serious, "appealed", rc.mark_appealed(mark(serious)))
    longer = determination(liability_ends_on="2029-11-21")
    with pytest.raises(rc.InvalidCorrection, match="lengthen"):
        await change(engine, serious, "corrected", rc.correct(resolution(serious, determination=longer)))


@pytest.mark.parametrize(
    "corrections",
    [{"behaviour_code": "AGY-G-01"}, {"behaviour_code": "SUP-S-02"}, {"recorded_on": "2020-01-01"}],
)
async def test_an_invalid_correction_is_refused_and_changes_nothing(engine: AsyncEngine, corrections: dict) -> None:
    record_id = await record(engine)
    await change(engine, record_id, "appealed", rc.mark_appealed(mark(record_id)))
    with pytest.raises(rc.InvalidCorrection):
        await change(engine, record_id, "corrected", rc.correct(resolution(record_id, **corrections)))
    (row,) = await rows(engine, RECORDS_T)
    assert (row["version"], row["behaviour_code"]) == (2, "SUP-G-01")


async def test_point6_a_repaired_record_may_be_objected_to_a_withdrawn_one_not(engine: AsyncEngine) -> None:
    record_id = await record(engine)
    await change(engine, record_id, "repaired", rc.repair(repair_input(record_id)))
    late = await change(engine, record_id, "appealed", rc.mark_appealed(mark(record_id)))
    assert late.applied and late.status == "repaired"
    await change(engine, record_id, "corrected", rc.correct(resolution(record_id)))
    again = await change(engine, record_id, "appealed", rc.mark_appealed(mark(record_id, appeal_id="apl-2")))
    assert not again.applied and "withdrawn" in again.note


async def serious_request(engine: AsyncEngine) -> str:
    (outcome,) = await ingest_batch(engine, [inbound(report_event(code="SUP-S-01", reporter_type="purchaser"))])
    assert outcome.task_id is not None
    return outcome.task_id


def decision(request_id: str, name: str, **fields) -> DeterminationApplied:  # type: ignore[no-untyped-def]
    return DeterminationApplied(
        request_id=request_id,
        decision=name,
        reason="经调查属实",
        fields=fields,
        decided_by="officer-a",
        decided_by_org="410300",
        decided_at=NOW,
    )


async def test_determine_records_the_serious_behaviour_as_the_finance_departments(engine: AsyncEngine) -> None:
    request_id = await serious_request(engine)
    result = await apply_determination(
        engine, decision(request_id, "determine", determination=determination()), now=NOW
    )
    assert result.applied and result.record_id
    (row,) = await rows(engine, RECORDS_T)
    assert (row["severity"], row["reporter_type"], row["reporter_id"]) == ("serious", "finance", "410300")
    assert row["recorded_by"] == "officer-a" and row["evidence"]  # the report's evidence stays with it
    (request,) = await rows(engine, REQUESTS_T)
    assert (request["state"], request["record_id"]) == ("recorded", result.record_id)
    types = [o["event"]["type"] for o in await outbox(engine)]
    assert RECORD_CREATED in types
    again = await apply_determination(engine, decision(request_id, "determine", determination=determination()), now=NOW)
    assert not again.applied and again.record_id == result.record_id
    assert len(await rows(engine, RECORDS_T)) == 1


async def test_record_general_and_dismiss(engine: AsyncEngine) -> None:
    general = await serious_request(engine)
    result = await apply_determination(engine, decision(general, "record_general", behaviour_code="SUP-G-02"), now=NOW)
    assert result.applied
    (row,) = await rows(engine, RECORDS_T)
    assert (row["behaviour_code"], row["severity"], row["valid_until"]) == ("SUP-G-02", "general", date(2027, 11, 22))
    dismissed = await serious_request(engine)
    result = await apply_determination(engine, decision(dismissed, "dismiss"), now=NOW)
    assert result.applied and result.record_id is None
    withdrawn = await serious_request(engine)  # issue 16 point 5: withdrawn after the statement
    result = await apply_determination(engine, decision(withdrawn, "withdraw"), now=NOW)
    assert result.applied and result.record_id is None
    states = {r["id"]: r["state"] for r in await rows(engine, REQUESTS_T)}
    assert states == {general: "recorded", dismissed: "dismissed", withdrawn: "withdrawn"}
    assert len(await rows(engine, RECORDS_T)) == 1


async def test_a_determination_the_rules_refuse_records_nothing_and_says_why(engine: AsyncEngine) -> None:
    request_id = await serious_request(engine)
    ended = determination(decided_on="2026-10-01", liability_ends_on="2026-11-20")
    result = await apply_determination(engine, decision(request_id, "determine", determination=ended), now=NOW)
    assert not result.applied and result.note.startswith("liability_ended")
    assert await rows(engine, RECORDS_T) == []
    wrong = await serious_request(engine)
    result = await apply_determination(engine, decision(wrong, "record_general", behaviour_code="SUP-S-02"), now=NOW)
    assert not result.applied and "severity_mismatch" in result.note


def test_later_is_on_the_right_legal_day() -> None:
    assert LATER.astimezone(UTC).date() == date(2027, 6, 10)
