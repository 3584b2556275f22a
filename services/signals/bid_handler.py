"""`bid.submitted.v1` is kept with its project; when bidding closes — the award notice, or the
department's quiet period after the last bid (`bidding_close_delay_hours`) — the project's bids are
judged once: one `collusion.suspected.v1` per suspected group, through the outbox. A signal, never a
record: the finance department decides on it."""

import hashlib
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.cloudevents import build_event
from services.common.commands import write_commands
from services.common.contracts.decode import Typed
from services.common.contracts.procurement import AwardNotified, BidSubmitted
from services.common.frame import Accepted, Batch, Rejected
from services.common.identifiers import is_division_code
from services.common.lawdates import local_date
from services.common.messaging import OutboundEvent
from services.common.policy import NoPolicy, SignalRules, policy_for
from services.common.sql import lock_keys, upsert_rows
from services.common.topics import COLLUSION_SUSPECTED, WARNINGS
from services.signals.collusion.bids import Bid, bid_of
from services.signals.collusion.groups import SuspectedGroup, suspected_groups
from services.signals.collusion.masking import masked_evidence
from services.signals.models import BIDS_T, COMMANDS, PROJECTS_T
from services.signals.requests import SOURCE
from services.signals.triage import triage_start


def _rules(region: str, day: datetime) -> SignalRules | None | Rejected:
    if not is_division_code(region):
        return Rejected("invalid_identifier", f"region {region!r} is not a division code")
    try:
        return policy_for(region, local_date(day)).signals
    except NoPolicy as exc:
        return Rejected("no_policy", str(exc))


async def handle_bid(event: Typed[BidSubmitted], batch: Batch) -> Accepted | Rejected:
    data = event.data
    rules = _rules(data.region, data.at)
    if isinstance(rules, Rejected):
        return rules
    code = data.project.code
    await lock_keys(batch.conn, [f"signals:project:{code}"])
    project = (await batch.conn.execute(select(PROJECTS_T).where(PROJECTS_T.c.code == code))).first()
    if project is not None and project.judged_at is not None:
        # Bidding closed: a late bid is kept for the record but judged with nothing.
        mark = "bid_after_close"
    else:
        mark = "bid_kept"
    view = asdict(bid_of(event.envelope.id, data))
    view["price"] = str(view["price"])
    view["mentions"] = list(view["mentions"])
    await upsert_rows(
        batch.conn,
        BIDS_T,
        [
            {
                "event_id": event.envelope.id,
                "project_code": code,
                "supplier_id": data.supplier.id,
                "bid": view,
                "at": data.at,
            }
        ],
        key=["event_id"],
    )
    last = data.at if project is None or project.last_bid_at < data.at else project.last_bid_at
    await upsert_rows(
        batch.conn,
        PROJECTS_T,
        [{"code": code, "name": data.project.name, "region": data.region, "last_bid_at": last}],
        key=["code"],
        update=["last_bid_at"],
    )
    return Accepted(mark=mark)


async def handle_award(event: Typed[AwardNotified], batch: Batch) -> Accepted | Rejected:
    """The award closes bidding: the project is judged now (once)."""
    data = event.data
    rules = _rules(data.region, data.at)
    if isinstance(rules, Rejected):
        return rules
    await lock_keys(batch.conn, [f"signals:project:{data.project.code}"])
    raised = await judge(batch.conn, data.project.code, rules, closed_by="award", now=batch.now)
    if raised is None:
        return Accepted(mark="award_without_bids")
    batch.emit(*raised)
    return Accepted(mark=f"judged:{len(raised)}")


async def close_quiet_projects(conn: AsyncConnection, *, now: datetime) -> list[OutboundEvent]:
    """Projects with no award whose last bid is older than their region's quiet period: judged now.
    The caller writes the events to the outbox in the same transaction."""
    rows = (await conn.execute(select(PROJECTS_T).where(PROJECTS_T.c.judged_at.is_(None)))).all()
    out: list[OutboundEvent] = []
    for row in rows:
        try:
            rules = policy_for(row.region, local_date(row.last_bid_at)).signals
        except NoPolicy:
            continue  # its bids were refused as no_policy; nothing to judge
        if rules is None or row.last_bid_at + timedelta(hours=rules.bidding_close_delay_hours.value) > now:
            continue
        await lock_keys(conn, [f"signals:project:{row.code}"])
        out += await judge(conn, row.code, rules, closed_by="quiet", now=now) or []
    return out


async def judge(
    conn: AsyncConnection, code: str, rules: SignalRules | None, *, closed_by: str, now: datetime
) -> list[OutboundEvent] | None:
    """Judge a project's bids once; None when it has no bids, [] when judged before or clean."""
    project = (await conn.execute(select(PROJECTS_T).where(PROJECTS_T.c.code == code))).first()
    if project is None:
        return None
    if project.judged_at is not None:
        return []
    await conn.execute(update(PROJECTS_T).where(PROJECTS_T.c.code == code).values(judged_at=now, closed_by=closed_by))
    if rules is None:
        return []
    stored = (await conn.execute(select(BIDS_T.c.bid).where(BIDS_T.c.project_code == code))).scalars().all()
    bids = [Bid(**{**b, "price": Decimal(b["price"]), "mentions": tuple(b["mentions"])}) for b in stored]
    project_ref = {"code": code, "name": project.name}
    groups = suspected_groups(bids, rules)
    suspicions = [_suspicion(project_ref, project.region, g) for g in groups]
    # The triage task of each suspicion, started in the same transaction (command outbox), keeps the
    # evidence whole: only finance officers read a task. The warning goes to purchasers and agencies.
    await write_commands(conn, COMMANDS, [triage_start(data, now=now) for data in suspicions])
    return [_warning(data, now) for data in suspicions]


def task_id_of(code: str, group: SuspectedGroup) -> str:
    """The triage task's id: one per project and group of suppliers, whatever the redelivery."""
    digest = hashlib.sha256(f"{code}|{'|'.join(group.suppliers)}".encode()).hexdigest()[:32]
    return f"collusion-{digest}"


def _suspicion(project: dict, region: str, group: SuspectedGroup) -> dict:
    """A suspicion's data, its evidence whole (the triage task's start input)."""
    return {
        "project": project,
        "region": region,
        "suppliers": [{"type": "supplier", "id": s} for s in group.suppliers],
        "indicators": [
            {
                "code": i.kind,
                "basis": i.item,
                "evidence": {"bids": list(i.bids), "suppliers": list(i.suppliers), **i.evidence},
            }
            for i in group.indicators
        ],
        "task_id": task_id_of(project["code"], group),
    }


def _warning(data: dict, now: datetime) -> OutboundEvent:
    """`collusion.suspected.v1` on credit.warnings, whose readers are purchasers, agencies and
    supervisors: the evidence with people's names masked (`mask_person_name`, CONTRACT §3)."""
    task_id = data["task_id"]
    public = {**data, "indicators": [{**i, "evidence": masked_evidence(i["evidence"])} for i in data["indicators"]]}
    return OutboundEvent(
        topic=WARNINGS,
        key=data["project"]["code"],
        event=build_event(
            type=COLLUSION_SUSPECTED, source=SOURCE, subject=task_id, id=f"{task_id}:suspected", time=now, data=public
        ),
    )
