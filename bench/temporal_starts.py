"""How fast the local Temporal dev server starts workflows that wait on a timer — the measurement
behind running record expiry as one sweep instead of a workflow per record (workflows/record_expiry/).

`python -m bench.temporal_starts [--workflows 500] [--concurrency 32]` starts its own dev server
(SQLite file with WAL, as deploy/run.sh does) on free ports, a worker, and N workflows that each
sleep a year, then prints starts/s and the latency of a start."""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from deploy.local.components import free_port, start_temporal_dev


@workflow.defn
class WaitForExpiry:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(days=365))


async def measure(address: str, n: int, concurrency: int) -> tuple[float, list[float]]:
    client = await Client.connect(address)
    queue = f"bench-{uuid.uuid4()}"
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def start(i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            await client.start_workflow(WaitForExpiry.run, id=f"expiry-{queue}-{i}", task_queue=queue)
            latencies.append(time.perf_counter() - t0)

    async with Worker(client, task_queue=queue, workflows=[WaitForExpiry]):
        t0 = time.perf_counter()
        await asyncio.gather(*(start(i) for i in range(n)))
        elapsed = time.perf_counter() - t0
    return elapsed, latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.temporal_starts", description=__doc__)
    parser.add_argument("--workflows", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="temporal-bench-"))
    port = free_port()
    server = start_temporal_dev(port, free_port(), workdir / "temporal.db", workdir / "temporal.log")
    try:
        elapsed, lat = asyncio.run(measure(f"127.0.0.1:{port}", args.workflows, args.concurrency))
    finally:
        server.stop()
    lat.sort()
    p99 = lat[int(len(lat) * 0.99) - 1]
    sys.stdout.write(
        f"temporal dev server (SQLite, WAL): {args.workflows} timer workflows started in {elapsed:.2f} s\n"
        f"  starts/s        {args.workflows / elapsed:,.0f}\n"
        f"  start latency   p50 {statistics.median(lat) * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms\n"
        f"  so at 2,000 records/s a workflow per record would fall behind by "
        f"{2000 - args.workflows / elapsed:,.0f} starts every second\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
