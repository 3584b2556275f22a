"""Producing to and reading from the real broker in tests."""

import asyncio
import time
from collections.abc import Callable

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.common.cloudevents import encode_structured


async def produce(bootstrap: str, topic: str, events: list[dict], *, key_of=None) -> None:  # type: ignore[no-untyped-def]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for e in events:
            value, headers = encode_structured(e)
            key = key_of(e) if key_of else e["data"].get("subject", {}).get("id", "x")
            await producer.send(topic, value, key=key.encode(), headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


async def produce_raw(bootstrap: str, topic: str, value: bytes, headers: list[tuple[str, bytes]], key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def collect(
    bootstrap: str,
    topic: str,
    done: Callable[[list[dict]], bool],
    *,
    match: Callable[[dict], bool] = lambda e: True,
    timeout: float = 30.0,
) -> list[dict]:
    """Read `topic` from the beginning, keeping events that `match`, until `done(kept)` or timeout."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    await consumer.start()
    kept: list[dict] = []
    try:
        deadline = time.monotonic() + timeout
        partitions: list[TopicPartition] = []
        while not partitions and time.monotonic() < deadline:
            parts = consumer.partitions_for_topic(topic) or set()
            if not parts:
                await consumer._client.force_metadata_update()  # noqa: SLF001 - topic may be new
                parts = consumer.partitions_for_topic(topic) or set()
            partitions = [TopicPartition(topic, p) for p in sorted(parts)]
            if not partitions:
                await asyncio.sleep(0.2)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while time.monotonic() < deadline and not done(kept):
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for r in records:
                    e = orjson.loads(r.value)
                    if match(e):
                        kept.append(e)
        return kept
    finally:
        await consumer.stop()


async def drain(bootstrap: str, topic: str, *, match: Callable[[dict], bool] = lambda e: True) -> list[dict]:
    """Every event of `topic` that `match`, from the beginning up to the end offsets at the time of
    the call (unlike `collect`, which stops as soon as it has enough: use this to count)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # noqa: SLF001 - the topic may be new
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions, f"topic {topic} has no partitions"
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        kept: list[dict] = []
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=200, max_records=5000)
            for tp, records in batch.items():
                kept.extend(e for r in records if r.offset < ends[tp] and match(e := orjson.loads(r.value)))
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return kept
    finally:
        await consumer.stop()


def original_value(dead_letter: dict) -> dict:
    """A dead letter's original event, or {} when it was not a JSON object (bad bytes, another shape)."""
    original = dead_letter["data"].get("original")
    value = original.get("value") if isinstance(original, dict) else None
    return value if isinstance(value, dict) else {}


def original_id(dead_letter: dict) -> str | None:
    """The id of a dead letter's original event, None when it had none."""
    return original_value(dead_letter).get("id")
