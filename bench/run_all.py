"""The one command that reproduces the figures of bench/README.md:

    python -m bench.run_all [--events 20000] [--paced-rate 250] [--paced-events 5000]
                            [--query-rate 500] [--query-seconds 20] [--seed 200]

Starts a fresh stack (tests.stack.Stack: Tansu, Temporal dev server, a new PostgreSQL database and
every service as its own process, on free ports, in a temporary directory), then runs, each as its
own process so the figures are those of the standalone commands:

1. a warm-up of 200 events (the evaluation consumer joins its group; not counted),
2. `bench.intake` with `--events` as fast as possible (throughput),
3. `bench.intake` paced at `--paced-rate` (latency below saturation; skipped when 0),
4. `bench.credit_query` at `--query-rate`.

After each it prints which processes used the CPU (see bench/cpu.py). The stack is stopped and
its database dropped whatever happens.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import out
from bench.cpu import CpuSampler
from deploy.local.components import run_sync
from tests.stack import PG_ADMIN, ROOT, Stack


def _run(title: str, argv: list[str], stack: Stack, database: str) -> int:
    out(f"\n=== {title}")
    out("$ python " + " ".join(argv))
    roots: dict[str, int] = {}

    def stack_roots() -> dict[str, int]:
        r = {name: p.pid for name, p in stack.procs.items() if p.pid is not None}
        return {**r, **roots}

    with CpuSampler(stack_roots, database) as cpu:
        proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT)
        roots["bench client"] = proc.pid
        code = proc.wait()
    for line in cpu.table():
        out(line)
    if code:
        out(f"  (exit status {code})")
    return code


async def _drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--paced-rate", type=float, default=250.0)
    p.add_argument("--paced-events", type=int, default=5_000)
    p.add_argument("--query-rate", type=float, default=500.0)
    p.add_argument("--query-seconds", type=float, default=20.0)
    p.add_argument("--subjects", type=int, default=1000)
    p.add_argument("--seed", type=int, default=200)
    p.add_argument("--keep-logs", type=Path, help="copy the services' logs here before the stack goes")
    args = p.parse_args(argv)

    # The credit query benchmark is one load generator standing for many purchasers, all from one
    # address: the gateway's per-client public limit (default 50/s) would refuse it. The limit is
    # raised, not switched off, so its cost per request stays in the measured path.
    os.environ.setdefault("GATEWAY_PUBLIC_RATE_LIMIT", f"{max(1000, int(args.query_rate * 4))}/second")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="credit-bench-") as tmp:
        stack = Stack(workdir=Path(tmp))
        database = ""
        try:
            started = time.monotonic()
            stack.start()
            database = stack.database_url.rsplit("/", 1)[1]
            out(f"stack up in {time.monotonic() - started:.1f} s: kafka {stack.bootstrap}, api {stack.api}")
            kafka, api = ["--bootstrap", stack.bootstrap], ["--api", stack.api]
            if _run("warm-up (not counted)", ["-m", "bench.intake", "--events", "200", *kafka], stack, database):
                out("warm-up failed; the figures below would be meaningless")
                return 1
            failures += bool(
                _run(
                    "intake, unlimited rate",
                    ["-m", "bench.intake", "--events", str(args.events), *kafka],
                    stack,
                    database,
                )
            )
            if args.paced_rate > 0:
                paced = ["-m", "bench.intake", "--events", str(args.paced_events), "--rate", f"{args.paced_rate:g}"]
                failures += bool(
                    _run(f"intake, paced at {args.paced_rate:g} events/s", [*paced, *kafka], stack, database)
                )
            query = [
                "-m", "bench.credit_query", *api,
                "--rate", f"{args.query_rate:g}", "--seconds", f"{args.query_seconds:g}",
                "--subjects", str(args.subjects), "--seed", str(args.seed),
            ]  # fmt: skip
            failures += bool(_run(f"credit query at {args.query_rate:g} requests/s", query, stack, database))
        finally:
            if args.keep_logs:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for log in Path(tmp).glob("*.log"):
                    (args.keep_logs / log.name).write_bytes(log.read_bytes())
            stack.stop()
            if database:
                run_sync(lambda: _drop_database(database))
            out("\nstack stopped")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
