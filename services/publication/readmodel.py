"""Applying `credit.records`, `credit.subjects` and `credit.experts` to the read model: newer versions
win, older or repeated ones change nothing, whatever order the topics arrive in. In the same
transaction, a record's move on or off the blacklist is published (blacklist_notices.py)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.contracts import experts as expert_contracts
from services.common.contracts import records as record_contracts
from services.common.contracts.decode import Typed
from services.common.contracts.owners import PUBLICATION
from services.common.contracts.subjects import SUBJECT_STATUS_CHANGED
from services.common.frame import Accepted, Batch, Consumer, Handler, Rejected, counts, handle_batch
from services.common.inbound import Inbound
from services.common.sql import upsert_rows
from services.common.tables import table_of
from services.common.topics import EXPERTS, RECORDS, SUBJECTS
from services.publication.blacklist_notices import publish_changes
from services.publication.credit_answers import refresh_views
from services.publication.masking import public_name, public_text
from services.publication.models import MESSAGING, PublicExpertStanding, PublicRecord, PublicSubject

RECORDS_T = table_of(PublicRecord)
SUBJECTS_T = table_of(PublicSubject)
EXPERTS_T = table_of(PublicExpertStanding)
SOURCE = "urn:credit:publication"
BAD_DATA = (AttributeError, KeyError, TypeError, ValueError)


async def apply(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> dict[str, int]:
    results = counts(await handle_batch(CONSUMER, conn, items, now=now))
    return {k: results.get(k, 0) for k in ("applied", "duplicate", "rejected")}


@dataclass
class _Newest:
    """The batch's newest row of each record, subject and expert; every record version too."""

    records: dict[str, dict] = field(default_factory=dict)
    subjects: dict[str, dict] = field(default_factory=dict)
    experts: dict[str, dict] = field(default_factory=dict)
    versions: list[dict] = field(default_factory=list)  # for the blacklist notices


def _newest(batch: Batch) -> _Newest:
    return batch.state("readmodel", _Newest)


def _folding(row_of: Callable[[dict], dict], key: str, rows_of: Callable[[_Newest], dict[str, dict]]) -> Handler:
    """The handler of one kind of event: its row, folded into the batch's newest rows."""

    async def fold(event: Typed[Any], batch: Batch) -> Accepted | Rejected:
        try:
            row = row_of(event.envelope.data)
        except BAD_DATA as exc:
            return Rejected("invalid_data", f"{type(exc).__name__}: {exc}")
        newest = _newest(batch)
        if rows_of(newest) is newest.records:
            newest.versions.append(row)
        rows = rows_of(newest)
        if row[key] not in rows or rows[row[key]]["version"] < row["version"]:
            rows[row[key]] = row
        return APPLIED

    return fold


async def _write(batch: Batch) -> None:
    conn, newest = batch.conn, _newest(batch)
    records, subjects, experts = newest.records, newest.subjects, newest.experts
    await publish_changes(conn, newest.versions, now=batch.now)
    if records:
        await upsert_rows(conn, RECORDS_T, list(records.values()), key=["record_id"], only_if_newer="version")
    if subjects:
        await upsert_rows(conn, SUBJECTS_T, list(subjects.values()), key=["subject_key"], only_if_newer="version")
    if experts:
        await upsert_rows(conn, EXPERTS_T, list(experts.values()), key=["expert_id"], only_if_newer="version")
    touched = {r["subject_key"] for r in records.values()} | {s["subject_key"] for s in subjects.values()}
    await refresh_views(conn, touched | {f"expert:{e}" for e in experts}, now=batch.now)


def _record_row(d: dict) -> dict:
    subject = d["subject"]
    determination = d.get("determination")
    appeal = d.get("appeal") or {}
    resolution = d.get("resolution")
    return {
        "record_id": d["record_id"],
        "version": d["version"],
        "subject_key": f"{subject['type']}:{subject['id']}",
        "subject_type": subject["type"],
        "subject_id": subject["id"],
        "subject_name": public_name(subject["type"], subject["name"]),
        "behaviour_code": d["behaviour"]["code"],
        "severity": d["severity"],
        "behaviour_text": d["behaviour"].get("text"),
        "legal_basis": d["behaviour"].get("legal_basis"),
        "region": d["region"],
        "project": {k: public_text(v) for k, v in (d.get("project") or {}).items()},
        "occurred_on": date.fromisoformat(d["occurred_on"]),
        "recorded_on": date.fromisoformat(d["recorded_on"]),
        "valid_until": date.fromisoformat(d["valid_until"]),
        "status": d["status"],
        "determination": (
            {
                k: determination.get(k)
                for k in ("decision_no", "decided_on", "liability_ends_on", "penalty", "legal_basis")
            }
            if determination
            else None
        ),
        "under_objection": appeal.get("state") == "open",
        "resolution": {"kind": resolution["kind"], "decided_on": resolution.get("decided_on")} if resolution else None,
        "updated_at": datetime.now(UTC),
    }


def _subject_row(d: dict) -> dict:
    subject = d["subject"]
    snapshot = {**d, "subject": {**subject, "name": public_name(subject["type"], subject["name"])}}
    return {
        "subject_key": f"{subject['type']}:{subject['id']}",
        "subject_type": subject["type"],
        "subject_id": subject["id"],
        "version": d["version"],
        "snapshot": snapshot,
        "updated_at": datetime.now(UTC),
    }


def _expert_row(d: dict) -> dict:
    """Only what the public may know: drawable or not, until when, removed, training owed."""
    reasons = d["reasons"]
    return {
        "expert_id": d["expert"]["id"],
        "version": d["version"],
        "standing": {
            "status": d["status"],
            "may_be_drawn": d["status"] == "drawable",
            "removed": d["status"] == "removed",
            "not_drawable_until": d["suspended_until"],
            "training_required": any(r["kind"] == "low_score" for r in reasons),
        },
        "updated_at": datetime.now(UTC),
    }


APPLIED = Accepted("applied")
CONSUMER = Consumer(
    service=PUBLICATION,
    source=SOURCE,
    messaging=MESSAGING,
    topics=(RECORDS, SUBJECTS, EXPERTS),
    handlers={
        **dict.fromkeys(record_contracts.CONTRACTS, _folding(_record_row, "record_id", lambda n: n.records)),
        **dict.fromkeys(expert_contracts.CONTRACTS, _folding(_expert_row, "expert_id", lambda n: n.experts)),
        SUBJECT_STATUS_CHANGED: _folding(_subject_row, "subject_key", lambda n: n.subjects),
    },
    conflicts=False,
    finish=_write,
)
