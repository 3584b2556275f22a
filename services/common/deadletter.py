"""The dead-letter publisher: a rejected input becomes an `event.rejected.v1` on
`credit.dead-letter` with a machine-readable reason, written to the outbox in the same transaction
that marks the input processed, so it is published exactly as reliably as any other event."""

import hashlib
from datetime import datetime

from services.common.cloudevents import build_event
from services.common.inbound import Inbound
from services.common.messaging import OutboundEvent
from services.common.metrics import DEAD_LETTERED
from services.common.topics import DEAD_LETTER, EVENT_REJECTED


def rejected_event(item: Inbound, *, reason: str, message: str, source: str, now: datetime) -> OutboundEvent:
    cause_source, cause_id = item.identity
    # Counted when written (a transaction retried after a failure counts again; alerts use rates).
    DEAD_LETTERED.labels(source.rsplit(":", 1)[-1], reason).inc()
    return OutboundEvent(
        topic=DEAD_LETTER,
        key=item.key or "unknown",
        event=build_event(
            type=EVENT_REJECTED,
            source=source,
            # One dead letter per rejected input, however often it is redelivered; hashed so it fits
            # the outbox's event_id whatever the lengths of the cause's source and id.
            id="rejected:" + hashlib.sha256(f"{cause_source}|{cause_id}".encode()).hexdigest(),
            time=now,
            data={"reason": reason, "message": message, "original": item.original_message()},
        ),
    )
