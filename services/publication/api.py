"""Public HTTP endpoints: credit status and blacklist (CONTRACT §2). Anyone may call them;
evidence never appears and natural persons are masked (done when the read model is built)."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select

from services.common.identifiers import division_level, is_division_code, validate_subject_id
from services.common.lawdates import local_date
from services.common.problems import Problem
from services.common.runtime import Runtime
from services.publication.models import PublicRecord, PublicSubject

router = APIRouter()
RECORDS_T = PublicRecord.__table__  # type: ignore[attr-defined]
SUBJECTS_T = PublicSubject.__table__  # type: ignore[attr-defined]
GRADES = {"clean": "good", "general_record": "general_dishonest", "blacklisted": "serious_dishonest"}
PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6}


async def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def public_record(row: dict) -> dict:
    return {
        "record_id": row["record_id"],
        "behaviour_code": row["behaviour_code"],
        "behaviour": row["behaviour_text"],
        "legal_basis": row["legal_basis"],
        "severity": row["severity"],
        "region": row["region"],
        "project": row["project"],
        "occurred_on": row["occurred_on"].isoformat(),
        "recorded_on": row["recorded_on"].isoformat(),
        "valid_until": row["valid_until"].isoformat(),
        "status": row["status"],
        "determination": row["determination"],
        "subject": {"type": row["subject_type"], "id": row["subject_id"], "name": row["subject_name"]},
    }


@router.get("/v1/credit/{subject_type}/{subject_id}", tags=["public"])
async def credit_status(
    subject_type: Literal["supplier", "agency", "expert", "purchaser"],
    subject_id: str,
    rt: Annotated[Runtime, Depends(runtime)],
) -> dict:
    """May the subject take part now, blacklisted until when, its published records in force, its
    grade; for an expert, whether it may be drawn."""
    if not validate_subject_id(subject_type, subject_id):
        raise Problem(
            422, "invalid_identifier", "Invalid identifier", f"{subject_id!r} is not a valid {subject_type} id"
        )
    key = f"{subject_type}:{subject_id}"
    async with rt.engine.connect() as conn:
        subject = (await conn.execute(select(SUBJECTS_T.c.snapshot).where(SUBJECTS_T.c.subject_key == key))).first()
        rows = await conn.execute(
            select(RECORDS_T)
            .where(RECORDS_T.c.subject_key == key, RECORDS_T.c.status == "in_force")
            .order_by(RECORDS_T.c.valid_until.desc())
        )
        records = [public_record(dict(r._mapping)) for r in rows]
    snap = subject.snapshot if subject else {}
    status = snap.get("status", "clean")
    body = {
        "subject": snap.get("subject", {"type": subject_type, "id": subject_id, "name": None}),
        "status": status,
        "grade": GRADES[status],
        "may_participate": snap.get("may_participate", True),
        "blacklisted": snap.get("blacklisted", False),
        "blacklisted_until": snap.get("blacklisted_until"),
        "records_in_force": records,
        "status_version": snap.get("version", 0),
        "as_of": local_date(datetime.now(UTC)).isoformat(),
    }
    if subject_type == "expert":
        body["expert"] = snap.get("expert", {"removed": False, "may_be_drawn": True, "not_drawable_until": None})
    return body


@router.get("/v1/blacklist", tags=["public"])
async def blacklist(
    rt: Annotated[Runtime, Depends(runtime)],
    region: Annotated[str | None, Query(description="6-digit division code; includes the regions under it")] = None,
    subject_type: Literal["supplier", "agency", "expert", "purchaser"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """Serious-behaviour records in force (001 Art. 21–23): what purchasers check before awarding."""
    q = select(RECORDS_T).where(RECORDS_T.c.severity == "serious", RECORDS_T.c.status == "in_force")
    if region is not None:
        if not is_division_code(region):
            raise Problem(422, "invalid_identifier", "Invalid region", f"{region!r} is not a division code")
        q = q.where(RECORDS_T.c.region.startswith(region[: PREFIX_LENGTH[division_level(region)]]))
    if subject_type is not None:
        q = q.where(RECORDS_T.c.subject_type == subject_type)
    async with rt.engine.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(q.subquery()))
        rows = await conn.execute(
            q.order_by(RECORDS_T.c.recorded_on.desc(), RECORDS_T.c.record_id).limit(limit).offset(offset)
        )
        entries = [public_record(dict(r._mapping)) for r in rows]
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "entries": entries,
        "as_of": local_date(datetime.now(UTC)).isoformat(),
    }
