"""Credit commitments (Shandong (十三), 承诺制): `commitment.made.v1` is kept for the subject's
integrity archive; `commitment.breached.v1` (a department checked it and found it false) marks it
and asks the finance department of the breach's region for a determination. The department chooses
the catalogue code; the request proposes `SUP-S-01` (false material), the usual one."""

from sqlalchemy import select, update

from services.common.contracts.applications import CommitmentBreached, CommitmentMade
from services.common.contracts.decode import Typed
from services.common.frame import Accepted, Batch, Rejected
from services.common.identifiers import is_division_code
from services.common.sql import upsert_rows
from services.signals.models import COMMITMENTS_T
from services.signals.requests import determination_request

PROPOSED_CODE = "SUP-S-01"


async def handle_made(event: Typed[CommitmentMade], batch: Batch) -> Accepted:
    data = event.data
    row = {
        "commitment_id": data.commitment_id,
        "subject_type": data.subject.type,
        "subject_id": data.subject.id,
        "subject_name": data.subject.name,
        "kind": data.kind,
        "text": data.text,
        "made_on": data.made_on,
        "project": data.project.model_dump(mode="json") if data.project else None,
        "state": "made",
        "breach": None,
    }
    # A commitment sent again under another event id changes nothing (its breach is kept).
    existing = (
        await batch.conn.execute(
            select(COMMITMENTS_T.c.state).where(COMMITMENTS_T.c.commitment_id == data.commitment_id)
        )
    ).first()
    if existing is not None:
        return Accepted(mark="commitment_known")
    await upsert_rows(batch.conn, COMMITMENTS_T, [row], key=["commitment_id"])
    return Accepted(mark="commitment_kept")


async def handle_breached(event: Typed[CommitmentBreached], batch: Batch) -> Accepted | Rejected:
    data = event.data
    if not is_division_code(data.region):
        return Rejected("invalid_identifier", f"region {data.region!r} is not a division code")
    row = (
        await batch.conn.execute(select(COMMITMENTS_T).where(COMMITMENTS_T.c.commitment_id == data.commitment_id))
    ).first()
    if row is None:
        # The commitment may still be on its way: judged again on redelivery, dead letter kept.
        return Rejected("unknown_commitment", f"no commitment {data.commitment_id!r} is known", remember=False)
    if (row.subject_type, row.subject_id) != (data.subject.type, data.subject.id):
        return Rejected("subject_mismatch", f"commitment {data.commitment_id!r} was made by another subject")
    if row.state == "breach_found":
        return Accepted(mark="breach_known")
    breach = {
        "region": data.region,
        "found_on": data.found_on.isoformat(),
        "finding": data.finding,
        "evidence_count": len(data.evidence),
    }
    await batch.conn.execute(
        update(COMMITMENTS_T)
        .where(COMMITMENTS_T.c.commitment_id == data.commitment_id)
        .values(state="breach_found", breach=breach)
    )
    batch.emit(
        determination_request(
            key=f"commitment:{data.commitment_id}",
            region=data.region,
            subject={"type": row.subject_type, "id": row.subject_id, "name": row.subject_name},
            code=PROPOSED_CODE,
            occurred_on=data.found_on,
            project=row.project or {},
            signal={
                "rule": "山东 (十三) 信用承诺: 承诺不实，记入失信记录",
                "commitment": {
                    "id": data.commitment_id,
                    "kind": row.kind,
                    "text": row.text,
                    "made_on": str(row.made_on),
                },
                "finding": data.finding,
                "proposed_code": PROPOSED_CODE,
            },
            now=batch.now,
        )
    )
    return Accepted(mark="breach_signalled")
