"""The signals service's consumer on the frame: bids and awards and complaint decisions from
`credit.inbound.procurement`, commitments from `credit.inbound.applications`. It answers for
neither topic (the watch and the evaluation service do, `contracts/owners.py`): what it does not
read it passes over."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.contracts.applications import COMMITMENT_BREACHED, COMMITMENT_MADE
from services.common.contracts.procurement import AWARD_NOTIFIED, BID_SUBMITTED, COMPLAINT_DECIDED
from services.common.frame import Consumer, counts, handle_batch
from services.common.inbound import Inbound
from services.common.topics import INBOUND_APPLICATIONS, INBOUND_PROCUREMENT
from services.signals.bid_handler import handle_award, handle_bid
from services.signals.commitment_handler import handle_breached, handle_made
from services.signals.complaint_handler import handle_complaint
from services.signals.models import MESSAGING
from services.signals.requests import SOURCE

SIGNALS = "signals"

CONSUMER = Consumer(
    service=SIGNALS,
    source=SOURCE,
    messaging=MESSAGING,
    topics=(INBOUND_PROCUREMENT, INBOUND_APPLICATIONS),
    handlers={
        BID_SUBMITTED: handle_bid,
        AWARD_NOTIFIED: handle_award,
        COMPLAINT_DECIDED: handle_complaint,
        COMMITMENT_MADE: handle_made,
        COMMITMENT_BREACHED: handle_breached,
    },
)


async def accept(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> dict[str, int]:
    """One batch inside the caller's transaction; counts by outcome."""
    results = counts(await handle_batch(CONSUMER, conn, items, now=now))
    return results
