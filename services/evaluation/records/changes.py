"""Changing a record after it was made: repair (001 Art. 20), objection, upholding and correction
(002 (十)). Each change is one transaction: the subject's lock, the record row, a new version in its
hash-chained history and ledger, the record event and the subject's new status. The decisions
themselves are taken by case officers in review tasks (issues 3–5); these functions only apply
them, and are idempotent on the application or appeal they apply."""

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.catalogue import load_catalogue
from services.common.lawdates import local_date
from services.common.messaging import write_outbox
from services.common.policy import policy_for
from services.common.schemas import Determination
from services.common.sql import lock_keys
from services.common.tables import table_of
from services.common.topics import RECORD_APPEALED, RECORD_CORRECTED, RECORD_REPAIRED, RECORD_UPHELD
from services.evaluation import events
from services.evaluation.intake.rules import general_valid_until
from services.evaluation.ledger.history import append_versions
from services.evaluation.models import MESSAGING, CreditRecord
from services.evaluation.records.subjects import publish_subject_statuses
from workflows.record_inputs import AppealMark, AppealResolution, RecordChangeResult, RecordFacts, RepairDecision

RECORDS_T = table_of(CreditRecord)
MUTABLE = ("status", "behaviour_code", "severity", "valid_until", "determination", "appeal", "resolution")
# A change function edits the row in place, or returns why there is nothing to change.
Change = Callable[[dict], str | None]


class InvalidCorrection(ValueError):
    """The corrected fields do not make a valid record (the task's validation should prevent it)."""


async def change_record(
    engine: AsyncEngine, record_id: str, *, change: str, event_type: str, actor: str, now: datetime, apply: Change
) -> RecordChangeResult:
    async with engine.begin() as conn:
        head = (await conn.execute(select(RECORDS_T.c.subject_key).where(RECORDS_T.c.id == record_id))).first()
        if head is None:
            return RecordChangeResult(applied=False, record_id=record_id, note="no such record")
        # The subject's lock first, as intake and expiry take it, then the row.
        await lock_keys(conn, [head.subject_key])
        q = select(RECORDS_T).where(RECORDS_T.c.id == record_id)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = dict((await conn.execute(q)).one()._mapping)
        why_not = apply(row)
        if why_not is not None:
            return RecordChangeResult(
                applied=False, record_id=record_id, version=row["version"], status=row["status"], note=why_not
            )
        row["version"] += 1
        await conn.execute(
            update(RECORDS_T)
            .where(RECORDS_T.c.id == record_id)
            .values(version=row["version"], **{k: row[k] for k in MUTABLE})
        )
        await append_versions(conn, [row], change=change, actor=actor, now=now)
        subject = {"type": row["subject_type"], "id": row["subject_id"], "name": row["subject_name"]}
        outbox = [events.record_event(event_type, row, event_time=now)]
        outbox += await publish_subject_statuses(conn, {row["subject_key"]: subject}, cause=change, now=now)
        await write_outbox(conn, MESSAGING.outbox, outbox)
    return RecordChangeResult(applied=True, record_id=record_id, version=row["version"], status=row["status"])


async def record_facts(engine: AsyncEngine, record_id: str) -> RecordFacts | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(RECORDS_T).where(RECORDS_T.c.id == record_id))).first()
    if row is None:
        return None
    return RecordFacts(
        record_id=row.id,
        version=row.version,
        status=row.status,
        severity=row.severity,
        behaviour_code=row.behaviour_code,
        subject={"type": row.subject_type, "id": row.subject_id, "name": row.subject_name},
        region=row.region,
        recorded_on=row.recorded_on,
        valid_until=row.valid_until,
        recorded_by=row.recorded_by,
        open_appeal_id=row.appeal["appeal_id"] if row.appeal and row.appeal.get("state") == "open" else None,
    )


def repair(inp: RepairDecision) -> Change:
    def apply(row: dict) -> str | None:
        done = row["resolution"] or {}
        if done.get("kind") == "repaired" and done.get("application_id") == inp.application_id:
            return "already repaired by this application"
        if row["status"] != "in_force":
            return f"the record is {row['status']}, not in force"
        row["status"] = "repaired"
        row["resolution"] = {
            "kind": "repaired",
            "application_id": inp.application_id,
            "decided_on": local_date(inp.decided_at).isoformat(),
            "decided_by": inp.decided_by,
            "reason": inp.reason,
            "opinion": inp.opinion,
            "commitment": inp.commitment,
        }
        return None

    return apply


def mark_appealed(inp: AppealMark) -> Change:
    def apply(row: dict) -> str | None:
        appeal = row["appeal"] or {}
        if appeal.get("appeal_id") == inp.appeal_id:
            return "already under this objection"
        if appeal.get("state") == "open":
            return f"already under objection {appeal['appeal_id']}"
        # An ended (expired, repaired) record stays in the archive and may be objected to; a withdrawn
        # one was found wrong already.
        if row["status"] == "withdrawn":
            return "the record was withdrawn"
        row["appeal"] = {"appeal_id": inp.appeal_id, "state": "open", "filed_at": inp.filed_at.isoformat()}
        return None

    return apply


def _resolution(inp: AppealResolution, kind: str) -> dict:
    return {
        "kind": kind,
        "appeal_id": inp.appeal_id,
        "decided_on": local_date(inp.decided_at).isoformat(),
        "decided_by": inp.decided_by,
        "reason": inp.reason,
    }


def _open_appeal(row: dict, inp: AppealResolution) -> str | None:
    if (row["resolution"] or {}).get("appeal_id") == inp.appeal_id:
        return "this objection is decided already"
    if (row["appeal"] or {}).get("appeal_id") != inp.appeal_id:
        return f"the record is not under objection {inp.appeal_id}"
    return None


def uphold(inp: AppealResolution) -> Change:
    def apply(row: dict) -> str | None:
        why_not = _open_appeal(row, inp)
        if why_not:
            return why_not
        row["appeal"] = None
        row["resolution"] = _resolution(inp, "upheld")
        return None

    return apply


def correct(inp: AppealResolution) -> Change:
    """No corrected fields: the record was wrong and is withdrawn. Otherwise it stays in force as a
    new version with another behaviour code (and, for a serious one, its determination)."""

    def apply(row: dict) -> str | None:
        why_not = _open_appeal(row, inp)
        if why_not:
            return why_not
        row["appeal"] = None
        if not inp.corrections:
            row["status"] = "withdrawn"
            row["resolution"] = _resolution(inp, "withdrawn")
            return None
        _apply_corrections(row, inp.corrections)
        row["resolution"] = {**_resolution(inp, "corrected"), "corrections": inp.corrections}
        return None

    return apply


def _apply_corrections(row: dict, corrections: dict) -> None:
    unknown = set(corrections) - {"behaviour_code", "determination", "severity"}
    if unknown:
        raise InvalidCorrection(f"fields that cannot be corrected: {sorted(unknown)}")
    code = corrections.get("behaviour_code", row["behaviour_code"])
    behaviour = load_catalogue().get(code)
    if behaviour is None or behaviour.subject != row["subject_type"]:
        raise InvalidCorrection(f"{code!r} is not a behaviour of a {row['subject_type']}")
    if corrections.get("severity") not in (None, behaviour.severity):
        raise InvalidCorrection(f"{code} is {behaviour.severity}, not {corrections['severity']}")
    if row["severity"] == "general" and behaviour.severity == "serious":
        # The objector's own objection may not worsen its position (by analogy with 行政复议法 Art. 63,
        # 不得作出对申请人更为不利的决定): a serious finding goes through its own determination.
        raise InvalidCorrection(f"a correction on the subject's objection may not raise a general record to {code}")
    before = row["valid_until"]
    row["behaviour_code"], row["severity"] = code, behaviour.severity
    if behaviour.severity == "serious":
        raw = corrections.get("determination") or row["determination"]
        if raw is None:
            raise InvalidCorrection(f"{code} is serious: the correction needs its determination")
        determination = Determination.model_validate(raw)
        if determination.liability_ends_on > before:
            raise InvalidCorrection("a correction on the subject's objection may not lengthen the record")
        row["determination"] = determination.model_dump(mode="json", exclude_none=True)
        row["valid_until"] = determination.liability_ends_on
    else:
        recorded_on: date = row["recorded_on"]
        row["determination"] = None
        row["valid_until"] = general_valid_until(recorded_on, policy_for(row["region"], recorded_on))


# change name in the history -> the record event it owes
EVENTS = {
    "repaired": RECORD_REPAIRED,
    "appealed": RECORD_APPEALED,
    "upheld": RECORD_UPHELD,
    "corrected": RECORD_CORRECTED,
}
