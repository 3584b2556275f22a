"""Intake benchmark: N behaviour reports through the running stack, end to end.

    python -m bench.intake [--events 20000] [--bootstrap 127.0.0.1:9092] [--rate 0] [--timeout 120]

Publishes N valid `behaviour.reported.v1` events (structured CloudEvents, a unique source per run,
one new supplier each, reported by a purchaser with evidence, region 410322, SUP-G-01..10 in turn)
to `credit.inbound.behaviour` with one batching producer, and at the same time reads
`credit.records` (no group, every partition assigned, positioned at the end before the first
publish) for the `record.created.v1` of each. The record ids are derived exactly as evaluation
derives them (`services.evaluation.intake.ingest.derived_id`), so no other traffic is counted.

Prints events, seconds (first publish -> last record.created seen), events/s and the latency of
each event from its publish to the moment its record.created was read (p50/p95/p99/max). With
`--rate 0` everything is published at once, so latency is mostly queueing behind the backlog; use
`--rate R` (events/s, open loop) to measure latency below saturation. Exits 1 if any record is
missing `--timeout` seconds after the last publish.
"""

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import latency_summary, out, run
from services.common.cloudevents import build_event, encode_structured
from services.common.fetch_waits import BENCH_READER
from services.common.identifiers import make_uscc
from services.common.lawdates import today
from services.common.settings import get_settings
from services.common.topics import BEHAVIOUR_REPORTED, INBOUND_BEHAVIOUR, RECORD_CREATED, RECORDS
from services.evaluation.intake.ingest import derived_id

# A purchaser (public institution, Luoyang) and the county of the reports: the same as the tests.
PURCHASER_ID = make_uscc("12410300MB0000001")
REGION = "410322"
CODES = tuple(f"SUP-G-{n:02d}" for n in range(1, 11))


@dataclass
class IntakeResult:
    events: int
    seen: int
    missing: int
    seconds: float
    events_per_s: float
    publish_seconds: float
    latency: dict[str, float]
    # Where the latency goes, each on the wall clock (one machine): publish -> the record event's
    # CloudEvents `time` (evaluation decided), -> its Kafka timestamp (the relay produced it), -> read.
    hops: dict[str, dict[str, float]] = field(default_factory=dict)


def supplier_ids(n: int) -> list[str]:
    """n distinct valid supplier USCCs, from a random base so runs do not share suppliers."""
    base = random.randrange(10**9 - n)
    return [make_uscc(f"91410300{base + i:09d}") for i in range(n)]


def report(i: int, supplier: str, occurred_on: str) -> dict:
    return {
        "subject": {"type": "supplier", "id": supplier, "name": f"洛阳基准测试供应商{i}有限公司"},
        "behaviour_code": CODES[i % len(CODES)],
        "reporter": {"type": "purchaser", "id": PURCHASER_ID, "name": "洛阳市某采购单位"},
        "region": REGION,
        "project": {"code": f"LYCG-BENCH-{i:06d}", "name": "办公设备采购项目"},
        "occurred_on": occurred_on,
        "description": "投标文件中的业绩证明与实际不符",
        "evidence": [
            {
                "kind": "photo",
                "uri": f"https://evidence.example/bench/{i}.jpg",
                "sha256": "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9",
            }
        ],
    }


def build_messages(n: int, source: str) -> tuple[list[tuple[bytes, bytes, list]], list[str]]:
    """(key, value, headers) of each event, and the record id evaluation will derive for it."""
    occurred_on = (today() - timedelta(days=3)).isoformat()
    messages, record_ids = [], []
    for i, supplier in enumerate(supplier_ids(n)):
        event_id = str(uuid.uuid4())
        e = build_event(type=BEHAVIOUR_REPORTED, source=source, data=report(i, supplier, occurred_on), id=event_id)
        value, headers = encode_structured(e)
        messages.append((supplier.encode(), value, headers))
        record_ids.append(derived_id("rec", source, event_id))
    return messages, record_ids


async def _assign_at_end(consumer: AIOKafkaConsumer, topic: str, deadline: float) -> list[TopicPartition]:
    parts: set[int] = set()
    while not parts:
        parts = consumer.partitions_for_topic(topic) or set()
        if parts:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"topic {topic} not found on the broker")
        await consumer._client.force_metadata_update()  # noqa: SLF001 - the topic may be new
        await asyncio.sleep(0.2)
    partitions = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for tp in partitions:  # resolve the end offsets now, before anything is published
        await consumer.position(tp)
    return partitions


async def bench(bootstrap: str, n: int, rate: float, timeout: float) -> IntakeResult:
    source = f"urn:bench:{uuid.uuid4()}"
    messages, record_ids = build_messages(n, source)
    index = {rid: i for i, rid in enumerate(record_ids)}
    published = [0.0] * n
    consumed = [0.0] * n
    wall = [0.0] * n  # time.time() at publish, for the hops
    decided = [0.0] * n  # the record event's `time`
    produced = [0.0] * n  # its Kafka timestamp
    read = [0.0] * n  # time.time() when read
    seen = 0
    all_seen = asyncio.Event()
    clock = time.perf_counter

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        # The reader is the last hop of the measured path: its wait is the settings' (fetch_waits).
        fetch_max_wait_ms=get_settings().fetch_wait_ms(BENCH_READER),
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=10, max_batch_size=256 * 1024)
    await consumer.start()
    await producer.start()
    try:
        await _assign_at_end(consumer, RECORDS, time.monotonic() + 30)

        async def consume() -> None:
            nonlocal seen
            while seen < n:
                batch = await consumer.getmany(timeout_ms=100, max_records=10_000)
                now, now_wall = clock(), time.time()
                for records in batch.values():
                    for r in records:
                        e = orjson.loads(r.value)
                        if e.get("type") != RECORD_CREATED:
                            continue
                        i = index.get(e["data"].get("record_id"))
                        if i is not None and not consumed[i]:
                            consumed[i] = now
                            read[i] = now_wall
                            produced[i] = r.timestamp / 1000
                            decided[i] = _epoch(e.get("time"))
                            seen += 1
            all_seen.set()

        reader = asyncio.create_task(consume())
        await asyncio.sleep(0.2)  # the reader's first fetch is in flight before the first publish
        start = clock()
        pending = []
        for i, (key, value, headers) in enumerate(messages):
            if rate > 0:
                due = start + i / rate
                wait = due - clock()
                if wait > 0.001:
                    await asyncio.sleep(wait)
            published[i] = clock()
            wall[i] = time.time()
            pending.append(await producer.send(INBOUND_BEHAVIOUR, value, key=key, headers=headers))
        await producer.flush()
        await asyncio.gather(*pending)
        last_publish = clock()
        try:
            await asyncio.wait_for(all_seen.wait(), timeout)
        except TimeoutError:
            pass
        reader.cancel()
        try:
            await reader
        except asyncio.CancelledError:
            pass
    finally:
        await producer.stop()
        await consumer.stop()

    first = min(published)
    last_seen = max(consumed) if seen else last_publish
    seconds = last_seen - first
    latencies = [(c - p) * 1000 for p, c in zip(published, consumed, strict=True) if c]
    return IntakeResult(
        events=n,
        seen=seen,
        missing=n - seen,
        seconds=seconds,
        events_per_s=seen / seconds if seconds > 0 else 0.0,
        publish_seconds=last_publish - first,
        latency=latency_summary(latencies),
        hops=_hops(wall, decided, produced, read),
    )


def _epoch(iso: object) -> float:
    try:
        return datetime.fromisoformat(str(iso)).timestamp()
    except ValueError:
        return 0.0


def _hops(wall: list[float], decided: list[float], produced: list[float], read: list[float]) -> dict:
    seen = [i for i, r in enumerate(read) if r]
    stages = {
        "publish -> decided (intake fetch, transaction)": [(decided[i] - wall[i]) * 1000 for i in seen if decided[i]],
        "decided -> produced (outbox relay)": [(produced[i] - decided[i]) * 1000 for i in seen if decided[i]],
        "produced -> read (broker, reader's fetch)": [(read[i] - produced[i]) * 1000 for i in seen],
    }
    return {name: latency_summary(values) for name, values in stages.items() if values}


def report_result(r: IntakeResult, *, rate: float) -> None:
    lat = r.latency
    out(f"intake: events={r.events} rate={'unlimited' if rate <= 0 else f'{rate:g}/s'}")
    offered = r.events / max(r.publish_seconds, 1e-9)
    out(f"  published in    {r.publish_seconds:8.2f} s ({offered:,.0f} events/s offered)")
    out(f"  seconds         {r.seconds:8.2f} s (first publish -> last record.created)")
    out(f"  events/s        {r.events_per_s:8,.0f}")
    out(
        f"  latency ms      p50 {lat['p50_ms']:.1f}  p95 {lat['p95_ms']:.1f}  "
        f"p99 {lat['p99_ms']:.1f}  max {lat['max_ms']:.1f}"
    )
    for name, hop in r.hops.items():
        out(f"    {name:<48} p50 {hop['p50_ms']:7.1f}  p99 {hop['p99_ms']:7.1f} ms")
    out(f"  missing         {r.missing}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--bootstrap", default="127.0.0.1:9092")
    p.add_argument("--api", default="http://127.0.0.1:8000", help="unused; accepted for symmetry")
    p.add_argument("--rate", type=float, default=0.0, help="events/s to publish at; 0 = as fast as possible")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait after the last publish")
    p.add_argument("--json", type=Path, help="also write the figures to this file (bench.run_all reads them)")
    args = p.parse_args(argv)
    result = run(bench(args.bootstrap, args.events, args.rate, args.timeout))
    report_result(result, rate=args.rate)
    if args.json:
        args.json.write_bytes(orjson.dumps(asdict(result)))
    return 1 if result.missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
