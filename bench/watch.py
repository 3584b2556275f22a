"""The watch under load (issue 13): N projects with their lifecycle (award, contract signed,
published, filed, payable invoice, payment: 6 events each) published at once to
credit.inbound.procurement on a fresh stack of its own, while the credit query runs at a fixed rate.
Prints events/s, the backlog's drain time (first publish to the last event processed by the watch),
the clock workflows open at the end, each process's CPU (Temporal's share among them) and the credit
query's latency percentiles during the run.

    .venv/bin/python -m bench.watch [--projects 10000] [--query-rate 200] [--timeout 900]
"""

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from temporalio.client import Client

from bench.common import out
from bench.cpu import CpuSampler
from bench.credit_query import load, supplier_ids
from deploy.local.components import run_sync
from services.common.cloudevents import encode_structured
from services.common.settings import Settings
from services.common.temporal import connect
from services.common.topics import INBOUND_PROCUREMENT
from tests.stack import Stack
from tests.support.procurement import procurement_event

LIFECYCLE = (
    ("award.notified", timedelta(hours=5)),
    ("contract.signed", timedelta(hours=4)),
    ("contract.published", timedelta(hours=3)),
    ("contract.filed", timedelta(hours=3)),
    ("invoice.received", timedelta(hours=2)),
    ("payment.made", timedelta(hours=1)),
)


def events(n: int) -> list[dict]:
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:6]
    out_events = []
    for i in range(n):
        code = f"B{run}-{i:06d}"
        for kind, ago in LIFECYCLE:
            contract = None if kind == "award.notified" else f"{code}-C"
            out_events.append(procurement_event(kind, code=code, at=now - ago, contract_no=contract))
    return out_events


async def publish(bootstrap: str, batch: list[dict]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    started = time.monotonic()
    try:
        for e in batch:
            value, headers = encode_structured(e)
            await producer.send(INBOUND_PROCUREMENT, value, key=e["data"]["project"]["code"].encode(), headers=headers)
        await producer.flush()
    finally:
        await producer.stop()
    return time.monotonic() - started


async def processed(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM watch_processed_event")
    finally:
        await conn.close()


async def open_clocks(client: Client) -> int:
    count = await client.count_workflows("WorkflowType='DeadlineClockWorkflow' AND ExecutionStatus='Running'")
    return count.count


async def measure(stack: Stack, projects: int, query_rate: float, timeout: float) -> None:
    batch = events(projects)
    before = await processed(stack.database_url)
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=stack.api, limits=limits, timeout=10, trust_env=False) as http:
        started = time.monotonic()
        publish_task = asyncio.create_task(publish(stack.bootstrap, batch))
        query_seconds = max(10.0, min(timeout, 30.0))
        query_task = asyncio.create_task(
            load(
                stack.api, http, supplier_ids(200), rate=query_rate, seconds=query_seconds, warmup=1,
                connections=32, use_httpx=True,
            )
        )  # fmt: skip
        publish_seconds = await publish_task
        done = before
        while time.monotonic() - started < timeout:
            done = await processed(stack.database_url)
            if done - before >= len(batch):
                break
            await asyncio.sleep(0.5)
        drained = time.monotonic() - started
        query = await query_task
    temporal = await connect(Settings(temporal_address=stack.temporal_address))
    out(f"projects {projects}, events {len(batch)} (published in {publish_seconds:.1f} s)")
    out(f"processed by the watch: {done - before} of {len(batch)}; drain {drained:.1f} s")
    out(f"throughput {(done - before) / drained:.0f} events/s")
    out(f"clock workflows open at the end: {await open_clocks(temporal)}")
    lat = query.latency
    out(
        f"credit query during the run at {query_rate:g}/s: {query.requests_per_s:.0f} ok/s, errors {query.errors},"
        f" p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.watch", description=__doc__.split("\n")[0])
    p.add_argument("--projects", type=int, default=10_000)
    p.add_argument("--query-rate", type=float, default=200.0)
    p.add_argument("--timeout", type=float, default=900.0)
    args = p.parse_args(argv)
    os.environ.setdefault("GATEWAY_PUBLIC_RATE_LIMIT", f"{max(1000, int(args.query_rate * 4))}/second")
    with tempfile.TemporaryDirectory(prefix="credit-bench-watch-") as tmp:
        stack = Stack(workdir=Path(tmp))
        try:
            stack.start()
            database = stack.database_url.rsplit("/", 1)[1]
            roots = {name: proc.pid for name, proc in stack.procs.items() if proc.pid}
            with CpuSampler(lambda: roots, database) as cpu:
                run_sync(lambda: measure(stack, args.projects, args.query_rate, args.timeout))
            total = sum(cpu.seconds.values()) or 1.0
            out(f"Temporal's share of the CPU used: {100 * cpu.seconds.get('temporal', 0.0) / total:.1f} %")
            for line in cpu.table():
                out(line)
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
