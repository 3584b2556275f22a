"""`complaint.decided.v1` → the repeat-complaint rule (Art. 8(15)/(16)): each decision is kept once
per region and complaint number; the complainant's earlier decisions (any region) are read back and
`complaints.signals_for` says which determination tasks to ask for."""

from datetime import datetime

from sqlalchemy import RowMapping, select

from services.common.contracts.decode import Typed
from services.common.contracts.procurement import ComplaintDecided
from services.common.frame import Accepted, Batch, Rejected
from services.common.identifiers import is_division_code
from services.common.lawdates import local_date
from services.common.messaging import OutboundEvent
from services.common.policy import NoPolicy, policy_for
from services.common.sql import lock_keys
from services.signals.complaints import ComplaintSignal, Decision, decision_of, signals_for
from services.signals.models import DECISIONS_T
from services.signals.requests import determination_request


async def handle_complaint(event: Typed[ComplaintDecided], batch: Batch) -> Accepted | Rejected:
    data = event.data
    if not is_division_code(data.region):
        return Rejected("invalid_identifier", f"region {data.region!r} is not a division code")
    try:
        rules = policy_for(data.region, data.decided_on).signals
    except NoPolicy:
        # Counted nationwide (在全国范围): a decision of a region with no credit policy of its own
        # is kept and counts when a region whose measures make the rule decides the next one.
        rules = None
    new = decision_of(data)
    # Two decisions of one complainant in concurrent batches must each see the other.
    await lock_keys(batch.conn, [f"signals:complainant:{new.complainant}"])
    rows = (await batch.conn.execute(select(DECISIONS_T).where(DECISIONS_T.c.complainant == new.complainant))).all()
    history = [_decision(r._mapping) for r in rows]
    if any(d.key == new.key for d in history):
        return Accepted(mark="repeated_complaint")
    await batch.conn.execute(DECISIONS_T.insert().values(**_row(new)))
    if rules is None:
        return Accepted(mark="counted")
    raised = signals_for(history, new, rules)
    batch.emit(*(_request(s, batch.now) for s in raised))
    return Accepted(mark="signalled" if raised else "counted")


def _row(d: Decision) -> dict:
    return {
        "region": d.region,
        "complaint_no": d.complaint_no,
        "complainant": d.complainant,
        "complainant_name": d.complainant_name,
        "project": d.project,
        "decided_on": d.decided_on,
        "outcome": d.outcome,
        "fabricated": d.fabricated,
    }


def _decision(row: RowMapping) -> Decision:
    return Decision(**dict(row))


def _request(signal: ComplaintSignal, now: datetime) -> OutboundEvent:
    kind, _, subject_id = signal.complainant.partition(":")
    latest = max(signal.complaints, key=lambda c: c.decided_on)
    return determination_request(
        key=signal.key,
        region=signal.region,
        subject={"type": kind, "id": subject_id, "name": signal.complainant_name},
        code=signal.code,
        occurred_on=latest.decided_on,
        project={"code": latest.project},
        signal={
            "rule": signal.basis,
            "complaints": [c.as_json() for c in signal.complaints],
            **({"window": signal.window} if signal.window else {}),
            "raised_on": local_date(now).isoformat(),
        },
        now=now,
    )
