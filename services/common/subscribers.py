"""How every consumer of the system reads Kafka: in batches, parsing CloudEvents itself, and
committing offsets only after its database transaction (NACK on error: the batch is consumed
again, and the processed-event table makes the replay a no-op)."""

from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from services.common.fetch_waits import IdleBackoff, back_off_when_idle, batch_timeout_ms, idle_wait_ms
from services.common.settings import Settings


async def raw_decoder(msg: Any) -> None:
    # Handlers parse CloudEvents themselves (structured and binary mode); skipping FastStream's JSON
    # decoding means an undecodable message still reaches its handler, to be dead-lettered.
    return None


def batch_options(
    settings: Settings, *, group_id: str, max_records: int | None = None, background: bool = False
) -> dict[str, Any]:
    """The subscriber options of consumer group `group_id` (its fetch wait is its own setting,
    services.common.fetch_waits). `background`: a consumer nobody waits on (a replica, a starter of
    workflows): its idle fetches wait longer, since a dozen consumers fetching every 50 ms keep an
    idle broker busy."""
    wait = settings.fetch_wait_ms(group_id, background=background)
    return {
        "group_id": group_id,
        "batch": True,
        "max_records": max_records or settings.kafka_max_batch,
        "batch_timeout_ms": batch_timeout_ms(wait, background=background),
        "fetch_max_wait_ms": wait,
        "fetch_min_bytes": settings.fetch_min_bytes(group_id, background=background),
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "decoder": raw_decoder,
    }


def back_off_idle_consumers(broker: KafkaBroker, settings: Settings) -> int:
    """Give each started consumer of `broker` its idle back-off (the `local` profile's, for latency
    and background consumers alike: services.common.fetch_waits); returns how many got one."""
    count = 0
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        fetcher = getattr(consumer, "_fetcher", None)
        if consumer is None or fetcher is None:
            continue
        short = fetcher._fetch_max_wait_ms
        idle = idle_wait_ms(settings, short)
        if idle is not None:
            back_off_when_idle(consumer, IdleBackoff(short, idle, settings.kafka_idle_backoff_seconds))
            count += 1
    return count
