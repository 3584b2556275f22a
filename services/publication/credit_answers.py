"""The public credit answer of each subject, computed when its records or status change, so
`GET /v1/credit/...` is one primary-key read (target: p99 ≤ 10 ms at 500 requests/s)."""

from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.catalogue import references_of
from services.common.lawdates import local_date
from services.common.sql import key_in, upsert_rows
from services.common.tables import table_of
from services.publication import goodcredit
from services.publication.models import PublicCreditView, PublicExpertStanding, PublicRecord, PublicSubject

RECORDS_T = table_of(PublicRecord)
SUBJECTS_T = table_of(PublicSubject)
VIEWS_T = table_of(PublicCreditView)
EXPERTS_T = table_of(PublicExpertStanding)
# `no_record`: a subject the system has never heard of (issue 21): nothing is asserted about it,
# neither a good grade nor good credit — the absence of a record here is not evidence of honesty.
GRADES = {
    "clean": "good",
    "general_record": "general_dishonest",
    "blacklisted": "serious_dishonest",
    "no_record": "no_record",
}


def public_record(row: dict) -> dict:
    return {
        "record_id": row["record_id"],
        "behaviour_code": row["behaviour_code"],
        "behaviour": row["behaviour_text"],
        "legal_basis": row["legal_basis"],
        # 参考 measures are shown apart from the basis; they are catalogue data, not the record's.
        "references": references_of(row["behaviour_code"]),
        "severity": row["severity"],
        "region": row["region"],
        "project": row["project"],
        "occurred_on": row["occurred_on"].isoformat(),
        "recorded_on": row["recorded_on"].isoformat(),
        "valid_until": row["valid_until"].isoformat(),
        "status": row["status"],
        "determination": row["determination"],
        # Objected to and under review (002 (十)): still published and in force meanwhile.
        "under_objection": bool(row.get("under_objection")),
        "subject": {"type": row["subject_type"], "id": row["subject_id"], "name": row["subject_name"]},
    }


def credit_view(
    subject_type: str, subject_id: str, snapshot: dict | None, records: list[dict], expert: dict | None = None
) -> dict:
    """What anyone may know of a subject's credit now (without `as_of`, added when served)."""
    snap = snapshot or {}
    status = snap.get("status", "clean")
    body = {
        "subject": snap.get("subject", {"type": subject_type, "id": subject_id, "name": None}),
        "status": status,
        "grade": GRADES[status],
        "may_participate": snap.get("may_participate", True),
        "blacklisted": snap.get("blacklisted", False),
        "blacklisted_until": snap.get("blacklisted_until"),
        "records_in_force": [public_record(r) for r in sorted(records, key=lambda r: r["valid_until"], reverse=True)],
        "status_version": snap.get("version", 0),
        "commitments_breached": snap.get("commitments_breached", []),
    }
    if subject_type == "expert":
        # The expert-standing workflow (credit.experts) is the authority on drawing; before its first
        # word, the records in force give the same answer (001 Art. 25).
        body["expert"] = expert or snap.get(
            "expert", {"removed": False, "may_be_drawn": True, "not_drawable_until": None}
        )
    return body


async def refresh_views(conn: AsyncConnection, keys: set[str], *, now: datetime) -> None:
    """Recompute the answers of `keys` inside the transaction that changed them."""
    if not keys:
        return
    ordered = sorted(keys)
    snapshots = {
        r.subject_key: r.snapshot
        for r in await conn.execute(
            select(SUBJECTS_T.c.subject_key, SUBJECTS_T.c.snapshot).where(
                key_in(conn, SUBJECTS_T.c.subject_key, ordered)
            )
        )
    }
    # Every record, not only those in force: good credit looks back at what was recorded.
    records: dict[str, list[dict]] = {k: [] for k in ordered}
    for r in await conn.execute(select(RECORDS_T).where(key_in(conn, RECORDS_T.c.subject_key, ordered))):
        records[r.subject_key].append(dict(r._mapping))
    expert_ids = [k.split(":", 1)[1] for k in ordered if k.startswith("expert:")]
    experts = {}
    if expert_ids:
        experts = {
            r.expert_id: r.standing
            for r in await conn.execute(
                select(EXPERTS_T.c.expert_id, EXPERTS_T.c.standing).where(
                    key_in(conn, EXPERTS_T.c.expert_id, expert_ids)
                )
            )
        }
    rows = []
    today = local_date(now)
    for key in ordered:
        subject_type, subject_id = key.split(":", 1)
        in_force = [r for r in records[key] if r["status"] == "in_force"]
        view = credit_view(subject_type, subject_id, snapshots.get(key), in_force, experts.get(subject_id))
        rows.append(
            {
                "subject_key": key,
                "body": orjson.dumps(view),
                **goodcredit.columns(subject_type, subject_id, records[key], today),
                "updated_at": now,
            }
        )
    await upsert_rows(conn, VIEWS_T, rows, key=["subject_key"])
