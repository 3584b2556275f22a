"""The subject's integrity archive (诚信档案, 001 Art. 20; 002 (十一)) and the reports waiting for a
determination. The archive is every version of every record of the subject — how each was made,
objected to, upheld, corrected, repaired or expired, with the decision's reason and opinion — read
from the hash-chained history; for finance of the records' regions and the subject itself."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from sqlalchemy import select

from services.common.auth import Principal, Role, require_roles
from services.common.documented import typed
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.common.tables import table_of
from services.evaluation.models import CreditRecord, DeterminationTask, RecordVersion, subject_key
from services.evaluation.records.access import is_subject_itself, may_read
from services.evaluation.records.commitments import commitments_of
from services.evaluation.records.evidence_access import audit
from services.evaluation.records.representation import record_view
from services.evaluation.schemas import Archive, DeterminationRequest

router = APIRouter()
RECORDS_T = table_of(CreditRecord)
HISTORY_T = table_of(RecordVersion)
REQUESTS_T = table_of(DeterminationTask)
FINANCE = (Role.FINANCE_OFFICER, Role.SUPERVISOR)


@router.get("/v1/archive/{subject_type}/{subject_id}", tags=["records"], **typed(Archive))
async def integrity_archive(
    subject_type: Literal["supplier", "agency", "expert", "purchaser"],
    subject_id: str,
    principal: Annotated[Principal, Depends(require_roles(*Role))],
    rt: RuntimeDep,
) -> dict:
    """Every record of the subject with the entries of its history: change, when, by whom and the
    decision (reason, opinion) that caused it. No evidence here."""
    if not (principal.is_finance() or is_subject_itself(principal, subject_id)):
        raise Problem(403, "forbidden", "Forbidden", "only finance departments and the subject itself")
    async with rt.engine.connect() as conn:
        rows = [
            dict(r._mapping)
            for r in await conn.execute(
                select(RECORDS_T)
                .where(RECORDS_T.c.subject_type == subject_type, RECORDS_T.c.subject_id == subject_id)
                .order_by(RECORDS_T.c.recorded_at)
            )
        ]
        visible = [r for r in rows if may_read(principal, region=r["region"], subject_id=r["subject_id"])]
        versions = await conn.execute(
            select(HISTORY_T)
            .where(HISTORY_T.c.record_id.in_([r["id"] for r in visible]))
            .order_by(HISTORY_T.c.record_id, HISTORY_T.c.version)
        )
        intended = [
            dict(r._mapping)
            for r in await conn.execute(
                select(REQUESTS_T)
                .where(
                    REQUESTS_T.c.subject_key == subject_key(subject_type, subject_id), REQUESTS_T.c.state == "intended"
                )
                .order_by(REQUESTS_T.c.created_at)
            )
        ]
        commitments = await commitments_of(conn, subject_key(subject_type, subject_id))
        entries: dict[str, list[dict]] = {r["id"]: [] for r in visible}
        for v in versions:
            entries[v.record_id].append(
                {
                    "version": v.version,
                    "change": v.change,
                    "at": v.at.isoformat(),
                    "actor": v.actor,
                    "status": v.snapshot.get("status"),
                    "behaviour_code": v.snapshot.get("behaviour_code"),
                    "decision": v.snapshot.get("resolution") if v.change != "created" else None,
                    "hash": v.hash,
                }
            )
    return {
        "subject": {"type": subject_type, "id": subject_id},
        # Issue 16 point 5 (国办发〔2020〕49号 (八)): a determination the officer made, of which the
        # subject is told before it is listed: the reasons, the basis and until when a statement may
        # be filed (POST /v1/intended-determinations/{request_id}/statement). No evidence here.
        "intended_determinations": [
            _intended_view(r) for r in intended if may_read(principal, region=r["region"], subject_id=subject_id)
        ],
        "records": [
            {**record_view(r, with_evidence=False), "resolution": r["resolution"], "entries": entries[r["id"]]}
            for r in visible
        ],
        "commitments": commitments,
    }


def _intended_view(row: dict) -> dict:
    intended = row["decision"] or {}
    fields = intended.get("fields") or {}
    return {
        "request_id": row["id"],
        "region": row["region"],
        "behaviour_code": row["behaviour_code"],
        "reason": intended.get("reason"),
        "determination": fields.get("determination"),
        "legal_basis": (fields.get("determination") or {}).get("legal_basis"),
        "decided_at": intended.get("decided_at"),
        "statement_due": intended.get("statement_due"),
    }


@router.get("/v1/determinations/{request_id}", tags=["intake"], **typed(DeterminationRequest))
async def determination_request(
    request_id: str,
    principal: Annotated[Principal, Depends(require_roles(*FINANCE))],
    rt: RuntimeDep,
) -> dict:
    """A reported serious behaviour waiting for (or given) a determination, with the report's
    evidence: the finance department of its region must see it to decide. Every read is audited."""
    async with rt.engine.begin() as conn:
        row = (await conn.execute(select(REQUESTS_T).where(REQUESTS_T.c.id == request_id))).first()
        if row is None or not principal.covers_region(row.region):
            raise Problem(404, "determination_not_found", "Not found", f"no determination request {request_id} for you")
        await audit(conn, principal, "evidence_read", request_id, row.region)
    return {
        "request_id": row.id,
        "region": row.region,
        "state": row.state,
        "behaviour_code": row.behaviour_code,
        "report": row.report,
        "reported_at": row.created_at.isoformat(),
        "decision": row.decision,
        "record_id": row.record_id,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
    }
