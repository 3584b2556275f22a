"""The watch under load (issue 13): N projects with their lifecycle (award, contract signed,
published, filed, payable invoice, payment: 6 events each; every 10th project only awarded, so its
clock stays open on Temporal) published at once to
credit.inbound.procurement on a fresh stack of its own, while the credit query runs at a fixed rate.
Prints events/s, the backlog's drain time (first publish to the last event processed by the watch),
the clock workflows open and how long their starts took, each process's CPU (Temporal's share among them) and the credit
query's latency percentiles during the run.

    .venv/bin/python -m bench.watch [--projects 10000] [--query-rate 200] [--timeout 900]
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from temporalio.client import Client

from bench.common import DEPLOYED_PACE, out
from bench.cpu import CpuSampler
from deploy.local.components import run_sync
from services.common.cloudevents import encode_structured
from services.common.settings import Settings
from services.common.temporal import connect
from services.common.topics import INBOUND_PROCUREMENT
from tests.stack import Stack
from tests.support.procurement import procurement_event

CHUNK = 2_000
LIFECYCLE = (
    ("award.notified", timedelta(hours=5)),
    ("contract.signed", timedelta(hours=4)),
    ("contract.published", timedelta(hours=3)),
    ("contract.filed", timedelta(hours=3)),
    ("invoice.received", timedelta(hours=2)),
    ("payment.made", timedelta(hours=1)),
)


def events(n: int, open_every: int) -> list[dict]:
    """Every `open_every`-th project is still waiting for its contract (only its award): its clock
    stays open on Temporal; the others went through their whole lifecycle."""
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:6]
    out_events = []
    for i in range(n):
        code = f"B{run}-{i:06d}"
        stages = LIFECYCLE[:1] if open_every and i % open_every == 0 else LIFECYCLE
        for kind, ago in stages:
            contract = None if kind == "award.notified" else f"{code}-C"
            out_events.append(procurement_event(kind, code=code, at=now - ago, contract_no=contract))
    return out_events


async def publish(bootstrap: str, batch: list[dict]) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024, request_timeout_ms=120_000
    )
    await producer.start()
    started = time.monotonic()
    try:
        # Flushed every CHUNK messages: on a busy machine the local broker can fall behind a producer
        # that queues 60,000 at once (its accumulator times out).
        for i, e in enumerate(batch, 1):
            value, headers = encode_structured(e)
            await producer.send(INBOUND_PROCUREMENT, value, key=e["data"]["project"]["code"].encode(), headers=headers)
            if i % CHUNK == 0:
                await producer.flush()
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


async def pending_commands(database_url: str) -> int:
    """Commands the watch still owes Temporal (clock starts and stops, paced by its relay)."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM watch_command WHERE state = 'pending'")
    finally:
        await conn.close()


async def traffic(stack: Stack, projects: int, open_every: int, timeout: float) -> tuple[int, int, float, float]:
    """Publish the projects' events and wait until the watch processed them (or `timeout` s):
    (events, processed, publish seconds, drain seconds from the first publish)."""
    batch = events(projects, open_every)
    before = await processed(stack.database_url)
    started = time.monotonic()
    publish_seconds = await publish(stack.bootstrap, batch)
    done = before
    while time.monotonic() - started < timeout:
        done = await processed(stack.database_url)
        if done - before >= len(batch):
            break
        await asyncio.sleep(0.5)
    return len(batch), done - before, publish_seconds, time.monotonic() - started


async def open_clocks(client: Client) -> int:
    count = await client.count_workflows("WorkflowType='DeadlineClockWorkflow' AND ExecutionStatus='Running'")
    return count.count


async def measure(
    stack: Stack, projects: int, open_every: int, query_rate: float, query_seconds: float, timeout: float
) -> None:
    expected_open = len(range(0, projects, open_every)) if open_every else 0
    # The credit query runs as its own process (bench.credit_query, open loop, the raw client), so
    # this process's publishing does not delay its requests; it starts with the publishing.
    query = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.credit_query", "--api", stack.api, "--rate", f"{query_rate:g}",
        "--seconds", f"{query_seconds:g}", "--seed", "0", "--subjects", "200",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    started = time.monotonic()
    sent, done, publish_seconds, drained = await traffic(stack, projects, open_every, timeout)
    out(f"published {sent} events in {publish_seconds:.1f} s")
    out(f"watch processed {done} events after {drained:.1f} s")
    query_output, _ = await asyncio.wait_for(query.communicate(), timeout=300)
    temporal = await connect(Settings(temporal_address=stack.temporal_address))
    opened = 0
    while time.monotonic() - started < timeout:
        opened = await asyncio.wait_for(open_clocks(temporal), timeout=30)
        if opened >= expected_open:
            break
        await asyncio.sleep(1.0)
    clocks_started = time.monotonic() - started
    out(f"projects {projects}, events {sent} (published in {publish_seconds:.1f} s)")
    out(f"processed by the watch: {done} of {sent}; drain {drained:.1f} s")
    out(f"throughput {done / drained:.0f} events/s")
    out(f"clock workflows open: {opened} of {expected_open} expected, {clocks_started:.1f} s after the first publish")
    out(f"credit query during the run ({query_seconds:g} s at {query_rate:g}/s, bench.credit_query):")
    for line in query_output.decode(errors="replace").splitlines():
        out(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.watch", description=__doc__.split("\n")[0])
    p.add_argument("--projects", type=int, default=10_000)
    p.add_argument("--open-every", type=int, default=10, help="every N-th project keeps an open clock (0: none)")
    p.add_argument("--query-rate", type=float, default=200.0)
    p.add_argument("--query-seconds", type=float, default=60.0, help="how long the credit query runs")
    p.add_argument("--timeout", type=float, default=900.0)
    args = p.parse_args(argv)
    os.environ.setdefault("GATEWAY_PUBLIC_RATE_LIMIT", f"{max(1000, int(args.query_rate * 4))}/second")
    with tempfile.TemporaryDirectory(prefix="credit-bench-watch-") as tmp:
        stack = Stack(workdir=Path(tmp), env_overrides=DEPLOYED_PACE)
        database = ""
        try:
            stack.start()
            out(f"stack up: kafka {stack.bootstrap}, api {stack.api}")
            database = stack.database_url.rsplit("/", 1)[1]
            roots = {name: proc.pid for name, proc in stack.procs.items() if proc.pid}
            with CpuSampler(lambda: roots, database) as cpu:
                run_sync(
                    lambda: measure(
                        stack, args.projects, args.open_every, args.query_rate, args.query_seconds, args.timeout
                    )
                )
            total = sum(cpu.seconds.values()) or 1.0
            out(f"Temporal's share of the CPU used: {100 * cpu.seconds.get('temporal', 0.0) / total:.1f} %")
            for line in cpu.table():
                out(line)
        finally:
            stack.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
