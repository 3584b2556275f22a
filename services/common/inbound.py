"""Inbound messages as received, parsed or not. Nothing is dropped: a message that cannot be
parsed is carried with its reason so the handler dead-letters it, and it is identified by its
content so a redelivery is still recognised."""

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson
from aiokafka.structs import ConsumerRecord

from services.common.cloudevents import Envelope, RejectedEvent, original_of, parse_kafka_message
from services.common.settings import get_settings

UNPARSEABLE_SOURCE = "urn:credit:unparseable"
MESSAGE_TOO_LARGE = "message_too_large"


@dataclass(frozen=True)
class Inbound:
    original: dict | None
    key: str | None
    envelope: Envelope | None = None
    reason: str | None = None
    message: str | None = None
    # As received from Kafka; turned into `original` only for a dead letter (most messages are fine).
    value: bytes | None = None
    headers: tuple = ()
    # Who sent it over HTTP (the token's sub): the officer who records, kept on the record.
    recorded_by: str | None = None
    # The caller's region over HTTP (the token's `region` claim): where a purchaser or agency belongs.
    reporter_region: str | None = None

    def original_message(self) -> dict:
        return self.original if self.original is not None else original_of(self.value, list(self.headers))

    @property
    def identity(self) -> tuple[str, str]:
        if self.envelope is not None:
            return (self.envelope.source, self.envelope.id)
        digest = hashlib.sha256(orjson.dumps(self.original_message(), option=orjson.OPT_SORT_KEYS)).hexdigest()
        return (UNPARSEABLE_SOURCE, digest)


def from_kafka(records: Iterable[ConsumerRecord], *, max_bytes: int | None = None) -> list[Inbound]:
    """`max_bytes` (default `KAFKA_MAX_MESSAGE_BYTES`): a larger value is not parsed, it is
    dead-lettered `message_too_large`."""
    limit = max_bytes or get_settings().kafka_max_message_bytes
    out = []
    for r in records:
        key = r.key.decode(errors="replace") if r.key else None
        headers = tuple(r.headers or ())
        if r.value is not None and len(r.value) > limit:
            message = f"the message holds {len(r.value)} bytes; at most {limit} are accepted"
            out.append(Inbound(None, key, reason=MESSAGE_TOO_LARGE, message=message, value=r.value, headers=headers))
            continue
        try:
            env = parse_kafka_message(r.value, headers)
        except RejectedEvent as exc:
            item = Inbound(None, key, reason=exc.reason, message=exc.message, value=r.value, headers=headers)
            out.append(item)
            continue
        out.append(Inbound(None, key, envelope=env, value=r.value, headers=headers))
    return out


def from_http(
    *,
    role: str,
    org: str,
    event_type: str,
    data: dict,
    key: str,
    idempotency_key: str | None,
    now: datetime,
    recorded_by: str | None = None,
    region: str | None = None,
) -> Inbound:
    """An HTTP request as the event it stands for, so it takes the code path of the Kafka events: the
    Idempotency-Key is its id and the caller's role and org its source, so a retry is a redelivery."""
    envelope = Envelope(
        specversion="1.0",
        id=idempotency_key or str(uuid.uuid4()),
        source=f"urn:credit:api:{role}:{org}",
        type=event_type,
        time=now,
        datacontenttype="application/json",
        data=data,
    )
    return Inbound(
        original={"http": envelope.model_dump(mode="json")},
        key=key,
        envelope=envelope,
        recorded_by=recorded_by,
        reporter_region=region,
    )
