"""The dead-letter publisher: a rejected input becomes an `event.rejected.v1` on
`credit.dead-letter` with a machine-readable reason and a redacted, bounded copy of the input,
written to the outbox in the same transaction that marks the input processed, so it is published
exactly as reliably as any other event."""

import hashlib
from datetime import datetime

from services.common.cloudevents import build_event
from services.common.dead_original import bounded_original, whole_hash
from services.common.inbound import Inbound
from services.common.messaging import CONFLICT_MESSAGE, DUPLICATE_ID_CONFLICT, OutboundEvent
from services.common.metrics import DEAD_LETTERED
from services.common.settings import get_settings
from services.common.text import is_storable
from services.common.topics import DEAD_LETTER, EVENT_REJECTED

KEY_MAX = 200  # the outbox's key column


def conflict_letter(item: Inbound, *, source: str, now: datetime, variant: str | None) -> OutboundEvent:
    """The dead letter of a payload sent under an id already used for another payload in the same
    batch (`duplicate_id_conflict`, issue 21 point 5); `variant` is its payload hash."""
    return rejected_event(
        item, reason=DUPLICATE_ID_CONFLICT, message=CONFLICT_MESSAGE, source=source, now=now, variant=variant
    )


def rejected_event(
    item: Inbound,
    *,
    reason: str,
    message: str,
    source: str,
    now: datetime,
    error_class: str | None = None,
    variant: str | None = None,
) -> OutboundEvent:
    """`error_class`: for `processing_failed`, the class of the error that refused the input.
    `variant`: for a refusal of another payload under an id already seen (`duplicate_id_conflict`),
    its payload hash, so its dead letter is not taken for the first one's."""
    cause_source, cause_id = item.identity
    # Counted when written (a transaction retried after a failure counts again; alerts use rates).
    DEAD_LETTERED.labels(source.rsplit(":", 1)[-1], reason).inc()
    original = item.original_message()
    limit = get_settings().credit_dead_letter_original_max_bytes
    data: dict = {
        "reason": reason,
        "message": message,
        # Redacted (no evidence, no free text) and bounded: see services/common/dead_original.py.
        "original": bounded_original(original, max_bytes=limit),
        "original_sha256": whole_hash(item.value, original),
    }
    if error_class is not None:
        data["error_class"] = error_class
    return OutboundEvent(
        topic=DEAD_LETTER,
        key=_storable_key(item.key),
        event=build_event(
            type=EVENT_REJECTED,
            source=source,
            # One dead letter per rejected input, however often it is redelivered; hashed so it fits
            # the outbox's event_id whatever the lengths of the cause's source and id.
            id="rejected:"
            + hashlib.sha256(f"{cause_source}|{cause_id}{'|' + variant if variant else ''}".encode()).hexdigest(),
            time=now,
            data=data,
        ),
    )


def _storable_key(key: str | None) -> str:
    """The Kafka key of the dead letter: the input's own, unless the outbox could not store it (a
    NUL, longer than its column), which would make the dead letter itself a poison message."""
    if not key:
        return "unknown"
    if len(key) <= KEY_MAX and is_storable(key):
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
