"""How the local broker answers fetches under a trickle (issue 19): for each `fetch_min_bytes` /
`fetch_max_wait_ms` pair, one producer sends N records of 500 bytes at R a second to a fresh Tansu
and one consumer reads them; prints the fetches that returned records, records a fetch, and the
CPU Tansu used meanwhile (bench/README.md "Issue 19: batches a trickle makes").

    .venv/bin/python -m bench.fetch_min_bytes [--records 1000] [--rate 250] [--pairs 1:25,65536:25,1:500,1048576:500]
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import out
from deploy.local.components import free_port, start_tansu


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


async def measure(min_bytes: int, wait_ms: int, records: int, rate: float) -> str:
    with tempfile.TemporaryDirectory(prefix="fetch-min-bytes-") as tmp:
        port = free_port()
        tansu = start_tansu(port, Path(tmp) / "tansu.log")
        bootstrap = f"127.0.0.1:{port}"
        try:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
            await producer.start()
            await producer.send_and_wait("t", b"x" * 500)  # the topic exists before the consumer joins
            consumer = AIOKafkaConsumer(
                "t",
                bootstrap_servers=bootstrap,
                group_id="g",
                auto_offset_reset="earliest",
                fetch_min_bytes=min_bytes,
                fetch_max_wait_ms=wait_ms,
            )
            await consumer.start()
            assert tansu.pid is not None
            cpu_before, started = _cpu_seconds(tansu.pid), time.monotonic()

            async def produce() -> None:
                for _ in range(records):
                    await producer.send("t", b"x" * 500)
                    await asyncio.sleep(1 / rate)

            sending = asyncio.create_task(produce())
            sizes: list[int] = []
            while sum(sizes) < records + 1 and time.monotonic() - started < 60:
                got = await consumer.getmany(timeout_ms=1000)
                n = sum(len(v) for v in got.values())
                if n:
                    sizes.append(n)
            await sending
            cpu = _cpu_seconds(tansu.pid) - cpu_before
            await consumer.stop()
            await producer.stop()
        finally:
            tansu.stop()
    mean = sum(sizes) / max(1, len(sizes))
    return (
        f"min_bytes {min_bytes:>8}  wait {wait_ms:>4} ms: {len(sizes):>4} fetches, {mean:6.1f} records a fetch, "
        f"Tansu {cpu:.2f} cpu-s in {time.monotonic() - started:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fetch_min_bytes", description=__doc__.split("\n")[0])
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--rate", type=float, default=250.0)
    p.add_argument("--pairs", default="1:25,65536:25,1:500,1048576:500", help="min_bytes:wait_ms,…")
    args = p.parse_args(argv)
    for pair in args.pairs.split(","):
        min_bytes, wait_ms = (int(x) for x in pair.split(":"))
        out(asyncio.run(measure(min_bytes, wait_ms, args.records, args.rate)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
