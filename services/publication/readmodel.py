"""Applying `credit.records`, `credit.subjects` and `credit.experts` to the read model: newer versions
win, older or repeated ones change nothing, whatever order the topics arrive in. In the same
transaction, a record's move on or off the blacklist is published (blacklist_notices.py)."""

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.deadletter import rejected_event
from services.common.inbound import Inbound
from services.common.messaging import already_processed, mark_processed, write_outbox
from services.common.sql import upsert_rows
from services.common.tables import table_of
from services.common.topics import SUBJECT_STATUS_CHANGED, TYPE_PREFIX
from services.publication.blacklist_notices import publish_changes
from services.publication.credit_answers import refresh_views
from services.publication.masking import public_name, public_text
from services.publication.models import MESSAGING, PublicExpertStanding, PublicRecord, PublicSubject

RECORDS_T = table_of(PublicRecord)
SUBJECTS_T = table_of(PublicSubject)
EXPERTS_T = table_of(PublicExpertStanding)
SOURCE = "urn:credit:publication"
EXPERT_TYPES = {TYPE_PREFIX + f"expert.{c}.v1" for c in ("suspended", "reinstated", "removed")}
RECORD_TYPES = {
    TYPE_PREFIX + f"record.{c}.v1" for c in ("created", "appealed", "corrected", "upheld", "repaired", "expired")
}


async def apply(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> dict[str, int]:
    counts = {"applied": 0, "duplicate": 0, "rejected": 0}
    seen = await already_processed(conn, MESSAGING.processed, [i.identity for i in items])
    records: dict[str, dict] = {}
    subjects: dict[str, dict] = {}
    experts: dict[str, dict] = {}
    versions: list[dict] = []  # every record version of the batch, for the blacklist notices
    processed, dead = [], []
    for item in items:
        if item.identity in seen:
            counts["duplicate"] += 1
            continue
        seen.add(item.identity)
        reason, message = _apply_one(item, records, subjects, experts, versions)
        if reason:
            dead.append(rejected_event(item, reason=reason, message=message, source=SOURCE, now=now))
            processed.append((*item.identity, "rejected"))
            counts["rejected"] += 1
            continue
        processed.append((*item.identity, "applied"))
        counts["applied"] += 1
    await publish_changes(conn, versions, now=now)
    if records:
        await upsert_rows(conn, RECORDS_T, list(records.values()), key=["record_id"], only_if_newer="version")
    if subjects:
        await upsert_rows(conn, SUBJECTS_T, list(subjects.values()), key=["subject_key"], only_if_newer="version")
    if experts:
        await upsert_rows(conn, EXPERTS_T, list(experts.values()), key=["expert_id"], only_if_newer="version")
    touched = {r["subject_key"] for r in records.values()} | {s["subject_key"] for s in subjects.values()}
    await refresh_views(conn, touched | {f"expert:{e}" for e in experts}, now=now)
    await mark_processed(conn, MESSAGING.processed, processed)
    await write_outbox(conn, MESSAGING.outbox, dead)
    return counts


def _apply_one(
    item: Inbound, records: dict[str, dict], subjects: dict[str, dict], experts: dict[str, dict], versions: list[dict]
) -> tuple[str, str]:
    """Fold one event into the batch's newest rows; returns ("", "") or (reason, message)."""
    env = item.envelope
    if env is None:
        return item.reason or "malformed_event", item.message or "not a CloudEvent"
    try:
        if env.type in RECORD_TYPES:
            row = _record_row(env.data)
            versions.append(row)
            if row["record_id"] not in records or records[row["record_id"]]["version"] < row["version"]:
                records[row["record_id"]] = row
        elif env.type in EXPERT_TYPES:
            row = _expert_row(env.data)
            if row["expert_id"] not in experts or experts[row["expert_id"]]["version"] < row["version"]:
                experts[row["expert_id"]] = row
        elif env.type == SUBJECT_STATUS_CHANGED:
            row = _subject_row(env.data)
            if row["subject_key"] not in subjects or subjects[row["subject_key"]]["version"] < row["version"]:
                subjects[row["subject_key"]] = row
        else:
            return "unknown_type", f"{env.type!r} is not read by publication"
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return "invalid_data", f"{type(exc).__name__}: {exc}"
    return "", ""


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
