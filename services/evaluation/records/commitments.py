"""Subjects' credit commitments (Shandong (十三)) in their integrity archive: `commitment.made.v1` is
kept, `commitment.breached.v1` marks it `breach_found` (the signals service asks for the
determination), and the determination recorded on that request marks it `breached` with its record
(determinations.py). Read from credit.inbound.applications by the consumer that answers for it.

The signals service reads the same events, and the officer may decide before this service's
(background) consumer has read them: a determination that finds no commitment keeps its record in
`evaluation_commitment_record`, the commitment takes it when it arrives (and the subject's status is
published again), and a later breach keeps the `breached` state while adding its finding. The
archive ends the same whichever came first."""

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.contracts.applications import CommitmentBreached, CommitmentMade
from services.common.contracts.decode import Typed
from services.common.frame import Accepted, Batch, Rejected
from services.common.sql import upsert_rows
from services.common.tables import table_of
from services.evaluation.models import COMMITMENT_ID_LENGTH, CommitmentRecord, SubjectCommitment, subject_key
from services.evaluation.records.subjects import publish_subject_statuses

COMMITMENTS_T = table_of(SubjectCommitment)
RECORDED_T = table_of(CommitmentRecord)


async def commitment_made(event: Typed[CommitmentMade], batch: Batch) -> Accepted:
    d = event.data
    row = {
        "commitment_id": d.commitment_id,
        "subject_key": subject_key(d.subject.type, d.subject.id),
        "kind": d.kind,
        "text": d.text,
        "made_on": d.made_on,
        "project": d.project.model_dump(mode="json") if d.project else None,
        "state": "made",
    }
    known = select(COMMITMENTS_T.c.state).where(COMMITMENTS_T.c.commitment_id == d.commitment_id)
    if (await batch.conn.execute(known)).first() is not None:
        return Accepted(mark="commitment_known")  # sent again: its state stands
    recorded_q = select(RECORDED_T.c.record_id).where(
        RECORDED_T.c.commitment_id == d.commitment_id, RECORDED_T.c.subject_key == row["subject_key"]
    )
    recorded = (await batch.conn.execute(recorded_q)).scalar()
    if recorded is None:
        await upsert_rows(batch.conn, COMMITMENTS_T, [row], key=["commitment_id"])
        return Accepted(mark="commitment_kept")
    # Its breach was determined and recorded before it reached this service.
    await upsert_rows(
        batch.conn, COMMITMENTS_T, [{**row, "state": "breached", "record_id": recorded}], key=["commitment_id"]
    )
    subject = d.subject.model_dump(mode="json")
    touched = {subject_key(d.subject.type, d.subject.id): {k: subject.get(k) for k in ("type", "id", "name")}}
    batch.emit(*await publish_subject_statuses(batch.conn, touched, cause="commitment.breached", now=batch.now))
    return Accepted(mark="commitment_kept_breached")


async def commitment_breached(event: Typed[CommitmentBreached], batch: Batch) -> Accepted | Rejected:
    d = event.data
    q = select(COMMITMENTS_T.c.subject_key).where(COMMITMENTS_T.c.commitment_id == d.commitment_id)
    row = (await batch.conn.execute(q)).first()
    if row is None:
        # The commitment may still be on its way (the signals service refuses it the same way).
        return Rejected("unknown_commitment", f"no commitment {d.commitment_id!r} is known", remember=False)
    if row.subject_key != subject_key(d.subject.type, d.subject.id):
        return Rejected("subject_mismatch", f"commitment {d.commitment_id!r} was made by another subject")
    # The first finding stands; `breached` (its determination already recorded) stays breached.
    await batch.conn.execute(
        update(COMMITMENTS_T)
        .where(COMMITMENTS_T.c.commitment_id == d.commitment_id, COMMITMENTS_T.c.found_on.is_(None))
        .values(
            state=case((COMMITMENTS_T.c.state == "made", "breach_found"), else_=COMMITMENTS_T.c.state),
            found_on=d.found_on,
            finding=d.finding,
        )
    )
    return Accepted(mark="breach_kept")


async def mark_breached(conn: AsyncConnection, report: dict, record: dict) -> None:
    """A determination recorded on a commitment's breach (the request's `signal.commitment`): only a
    commitment of the record's own subject is marked."""
    cid = ((report.get("signal") or {}).get("commitment") or {}).get("id")
    # The signals service writes it from a valid commitment; anything else names none (and must not
    # fail the record's transaction on the column's type or length).
    if not isinstance(cid, str) or not 0 < len(cid) <= COMMITMENT_ID_LENGTH:
        return
    mine = (COMMITMENTS_T.c.commitment_id == cid, COMMITMENTS_T.c.subject_key == record["subject_key"])
    marked = await conn.execute(update(COMMITMENTS_T).where(*mine).values(state="breached", record_id=record["id"]))
    if marked.rowcount == 0:  # not here yet: the commitment takes the record when it arrives
        link = {"commitment_id": cid, "subject_key": record["subject_key"], "record_id": record["id"]}
        await upsert_rows(conn, RECORDED_T, [link], key=["commitment_id"])


async def commitments_of(conn: AsyncConnection, key: str) -> list[dict]:
    q = select(COMMITMENTS_T).where(COMMITMENTS_T.c.subject_key == key).order_by(COMMITMENTS_T.c.made_on)
    return [
        {
            "commitment_id": r.commitment_id,
            "kind": r.kind,
            "text": r.text,
            "made_on": r.made_on.isoformat(),
            "project": r.project,
            "state": r.state,
            "found_on": r.found_on.isoformat() if r.found_on else None,
            "finding": r.finding,
            "record_id": r.record_id,
        }
        for r in await conn.execute(q)
    ]
