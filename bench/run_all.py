"""The one command that reproduces the figures of bench/README.md:

    python -m bench.run_all [--events 20000] [--paced-rate 250] [--paced-events 5000]
                            [--query-rate 500] [--query-seconds 20] [--seed 200]
                            [--idle-seconds 20] [--watch-projects 2000] [--direct] [--no-ceiling]
                            [--gateway-proxies] [--gateway-cost RATE]

First the ceiling (bench/ceiling.py: `../shared/ceiling/run.sh --modes batch`, before anything of
the product runs). Then it starts a fresh stack (tests.stack.Stack: Tansu, Temporal dev server, a
new PostgreSQL database and every service as its own process, on free ports, in a temporary
directory) and runs, each load generator as its own process so the figures are those of the
standalone commands:

1. a warm-up of 200 events (the evaluation consumers join their group; not counted),
2. the idle CPU of the whole stack over `--idle-seconds`, once the warm-up's work is done,
3. `bench.credit_query` at `--query-rate` on the quiet stack,
4. the same while the watch digests `--watch-projects` projects' events (bench/watch.py's traffic);
   then it waits for the watch's backlog and its commands toward Temporal before going on,
5. `bench.intake` with `--events` as fast as possible (throughput, and CPU-ms of the stack per event),
6. `bench.credit_query` at `--query-rate` at once, while the burst is digested (busy): the intake
   run ends at the last `record.created.v1`, and the background consumers of `credit.records` and
   the relays behind them are still working,
7. then it waits until the stack owes nothing (bench/backlog.py: every outbox and command outbox
   empty, every consumer group's lag 0) and prints how long that took,
8. `bench.intake` paced at `--paced-rate` on the drained stack (latency below saturation; skipped
   when 0). Before 2026-12-08 it ran straight after the burst, so its latency was that of a stack
   still digesting 20,000 records (bench/README.md, "Issue 19: the paced run after the drain").

The stack runs its periodic work at the deployed pace (DEPLOYED_PACE: the metric gauges every
15 s, the ledger's checkpoint every 600 s, the policy's expiry sleep and evidence grants), not
at the seconds the connected tests set to finish quickly.
`--direct` runs each credit query a second time against publication itself, without the gateway.
After each step it prints which processes used the CPU (bench/cpu.py), and at the end a summary of
every figure with the machine's load. The stack is stopped and its database dropped whatever happens.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench import ceiling, gateway_cost, watch
from bench.backlog import wait_drained
from bench.common import DEPLOYED_PACE, out, stop_stack
from bench.cpu import STACK_EXCLUDES, CpuSampler
from deploy.local.components import run_sync
from services.dbsetup import GATEWAY, role_of
from tests.stack import ROOT, Stack

DRAIN_TIMEOUT = 900.0


class Bench:
    def __init__(self, stack: Stack, database: str, tmp: Path) -> None:
        self.stack = stack
        self.database = database
        self.tmp = tmp
        self.extra_roots: dict[str, int] = {}
        self.failures = 0

    def roots(self) -> dict[str, int]:
        r = {name: p.pid for name, p in self.stack.procs.items() if p.pid is not None}
        return {**r, **self.extra_roots}

    def sampler(self) -> CpuSampler:
        return CpuSampler(self.roots, self.database)

    def run(self, title: str, argv: list[str], *, between: Callable[[], Any] | None = None) -> tuple[dict, CpuSampler]:
        """One load generator as its own process, with `--json`; its figures and the CPU of each
        process meanwhile. `between`: done while it runs, once it printed its first line."""
        out(f"\n=== {title}")
        out("$ python " + " ".join(argv))
        result = self.tmp / f"result-{time.monotonic_ns()}.json"
        with self.sampler() as cpu:
            proc = subprocess.Popen(
                [sys.executable, *argv, "--json", str(result)],
                cwd=ROOT,
                stdout=subprocess.PIPE if between else None,
                stderr=subprocess.STDOUT if between else None,
                text=True,
            )
            self.extra_roots["bench client"] = proc.pid
            if between is not None:
                assert proc.stdout is not None
                out(proc.stdout.readline().rstrip())
                between()
                for line in proc.stdout:
                    out(line.rstrip())
            code = proc.wait()
        self.extra_roots.pop("bench client", None)
        for line in cpu.table():
            out(line)
        if code:
            out(f"  (exit status {code})")
            self.failures += 1
        return (orjson.loads(result.read_bytes()) if result.exists() else {}), cpu

    def drained(self) -> float | None:
        return wait_drained(self.stack.database_url, self.stack.bootstrap, timeout=DRAIN_TIMEOUT)

    def idle_cpu(self, seconds: float) -> float:
        out(f"\n=== idle CPU of the whole stack over {seconds:g} s")
        waited = self.drained()
        out(f"  drained after {waited:.0f} s" if waited is not None else "  (NOT drained: timeout)")
        with self.sampler() as cpu:
            time.sleep(seconds)  # the measurement window: nothing is sent to the stack
        for line in cpu.table():
            out(line)
        percent = 100 * cpu.stack_seconds() / cpu.wall
        out(f"  idle stack: {percent:.1f} % of a core")
        return percent


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--paced-rate", type=float, default=250.0)
    p.add_argument("--paced-events", type=int, default=5_000)
    p.add_argument("--query-rate", type=float, default=500.0)
    p.add_argument("--query-seconds", type=float, default=20.0)
    p.add_argument("--subjects", type=int, default=1000)
    p.add_argument("--seed", type=int, default=200)
    p.add_argument("--idle-seconds", type=float, default=20.0)
    p.add_argument("--watch-projects", type=int, default=2000, help="0: no query under the watch's load")
    p.add_argument("--direct", action="store_true", help="each credit query also against publication directly")
    p.add_argument("--no-ceiling", action="store_true", help="skip ../shared/ceiling/run.sh (no ratio)")
    p.add_argument(
        "--gateway-proxies",
        action="store_true",
        help="the gateway proxies credit reads to publication (as before issue 19) instead of reading them",
    )
    p.add_argument(
        "--gateway-cost",
        type=float,
        default=0,
        metavar="RATE",
        help="after the quiet query: the gateway's own reads, a proxying gateway and publication in turn at RATE",
    )
    p.add_argument("--keep-logs", type=Path, help="copy the services' logs here before the stack goes")
    args = p.parse_args(argv)

    # The credit query benchmark is one load generator standing for many purchasers, all from one
    # address: the gateway's per-client public limit (default 50/s) would refuse it. The limit is
    # raised, not switched off, so its cost per request stays in the measured path.
    os.environ.setdefault("GATEWAY_PUBLIC_RATE_LIMIT", f"{max(1000, int(args.query_rate * 4))}/second")
    out(f"machine: {_uptime()}")
    ceiling_rate = None if args.no_ceiling else ceiling.measure(ceiling.find_script())
    summary: list[str] = []
    queries: dict[str, dict] = {}
    cost: list[str] = []
    bench: Bench | None = None
    with tempfile.TemporaryDirectory(prefix="credit-bench-") as tmp:
        stack = Stack(workdir=Path(tmp), env_overrides=DEPLOYED_PACE)
        database = ""
        try:
            started = time.monotonic()
            stack.start()
            database = stack.database_url.rsplit("/", 1)[1]
            if args.gateway_proxies:  # without a database the gateway proxies (services/gateway/credit.py)
                stack.restart("gateway", overrides={"DATABASE_URL": ""})
            out(f"stack up in {time.monotonic() - started:.1f} s: kafka {stack.bootstrap}, api {stack.api}")
            bench = Bench(stack, database, Path(tmp))
            kafka = ["--bootstrap", stack.bootstrap]
            warm, _ = bench.run("warm-up (not counted)", ["-m", "bench.intake", "--events", "200", *kafka])
            if not warm or warm["missing"]:
                out("warm-up failed; the figures below would be meaningless")
                return 1
            idle = bench.idle_cpu(args.idle_seconds)

            known: list[str] = []  # the quiet run's seeded suppliers, queried again by the later runs

            def query(label: str, *, settle: float = 0, between: Callable[[], Any] | None = None) -> None:
                targets = [("gateway", stack.api)] + ([("direct", stack.url("publication"))] if args.direct else [])
                for via, api in targets:
                    argv = [
                        "-m", "bench.credit_query", "--api", api,
                        "--rate", f"{args.query_rate:g}", "--seconds", f"{args.query_seconds:g}",
                        "--subjects", str(args.subjects), "--seed", str(args.seed), "--settle", f"{settle:g}",
                        "--seed-api", stack.api,
                    ]  # fmt: skip
                    if known:
                        argv += ["--known", known[0]]
                    title = f"credit query at {args.query_rate:g} requests/s, {label}, via {via}"
                    result, cpu = bench.run(title, argv, between=between)
                    # What a read costs the read path (its processes' CPU over the run, seeding included).
                    path_cpu = sum(cpu.seconds.get(k, 0.0) for k in ("gateway", "publication", "postgres (bench db)"))
                    if result:
                        result["read_path_cpu_ms"] = 1000 * path_cpu / max(1, result["requests"])
                    queries[f"{label}, {via}"] = result
                    if result and not known:
                        seeded = Path(tmp) / "seeded.json"
                        seeded.write_bytes(orjson.dumps({"seeded": result["seeded"]}))
                        known.append(str(seeded))

            query("quiet", settle=5)
            if args.gateway_cost > 0 and known:
                cost = gateway_cost.measure(stack, bench, known[0], rate=args.gateway_cost, seconds=10, rounds=2)
                for line in cost:
                    out(line)
            if args.watch_projects > 0:
                drained: dict[str, Any] = {}

                def watch_traffic() -> None:
                    sent, done, publish_s, drain_s = run_sync(
                        lambda: watch.traffic(stack, args.watch_projects, 10, timeout=600)
                    )
                    drained.update(events=sent, processed=done, publish_s=publish_s, drain_s=drain_s)
                    out(f"  watch: {done} of {sent} events processed {drain_s:.1f} s after the first publish")

                query("while the watch digests", between=watch_traffic)
                out(f"  watch traffic: {drained}")
                owed = _wait_for_watch_commands(stack)
                out(f"  the watch's commands toward Temporal done {owed:.0f} s later")
            unlimited = ["-m", "bench.intake", "--events", str(args.events), *kafka]
            # The whole burst's cost: from its first event until the stack owes nothing. The intake
            # run's own window misses what the background tier digests after it (it runs at a
            # lower priority, so most of its work comes later).
            with bench.sampler() as whole:
                intake, cpu = bench.run("intake, unlimited rate", unlimited)
                stack_cpu = cpu.stack_seconds()
                query("busy (the burst being digested)")
                out("\n=== waiting until the burst is digested (outboxes, commands, consumer lag)")
                drain = bench.drained()
            until_drained = burst_seconds(whole)
            out(f"  drained {drain:.0f} s after the busy query" if drain is not None else "  (NOT drained: timeout)")
            paced: dict = {}
            if args.paced_rate > 0:
                rate = ["--rate", f"{args.paced_rate:g}"]
                paced_argv = ["-m", "bench.intake", "--events", str(args.paced_events), *rate, *kafka]
                paced, _ = bench.run(f"intake, paced at {args.paced_rate:g} events/s, on the drained stack", paced_argv)
            summary = _summary(
                ceiling_rate, intake, (stack_cpu, until_drained), args, paced, idle, args.idle_seconds, queries, drain
            )
            summary += cost
        finally:
            stop_stack(stack, Path(tmp), args.keep_logs)
            out("\nstack stopped")
    out(f"\n=== summary (machine at the end: {_uptime()})")
    for line in summary:
        out("  " + line)
    return 1 if bench is None or bench.failures else 0


def _wait_for_watch_commands(stack: Stack, timeout: float = 600) -> float:
    """Seconds until the watch owes Temporal nothing (so its clock starts do not run under the intake)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if run_sync(lambda: watch.pending_commands(stack.database_url)) == 0:
            break
        time.sleep(1)  # polled until the condition holds (or the timeout)
    return time.monotonic() - started


def burst_seconds(whole: CpuSampler) -> tuple[float, float]:
    """CPU-seconds of the stack from the burst's first event until it was digested, without the
    busy query's read path (the gateway and the PostgreSQL backends serving it), and the wall time."""
    reads = whole.pg_roles.get(role_of(GATEWAY), 0.0)
    return whole.stack_seconds(exclude=(*STACK_EXCLUDES, "gateway")) - reads, whole.wall


def _summary(
    ceiling_rate: float | None,
    intake: dict,
    cpu: tuple[float, tuple[float, float]],
    args: argparse.Namespace,
    paced: dict,
    idle: float,
    idle_seconds: float,
    queries: dict[str, dict],
    drain: float | None,
) -> list[str]:
    measured = f"{ceiling_rate:,.0f} events/s" if ceiling_rate else "not measured"
    lines = [f"ceiling (batch prototype)       {measured}"]
    rate = intake.get("events_per_s", 0.0)
    share = ""
    if ceiling_rate:
        share = f" = {100 * rate / ceiling_rate:.0f} % of the ceiling ({rate:,.0f} / {ceiling_rate:,.0f})"
    lines.append(f"intake, {args.events:,} events     {rate:,.0f} events/s{share}")
    seen = intake.get("seen", 0)
    stack_cpu, (whole_cpu, whole_wall) = cpu
    if seen:
        per_event = 1000 * stack_cpu / seen
        lines.append(f"CPU of the stack per event      {per_event:.2f} ms ({stack_cpu:.1f} cpu-s / {seen:,} events)")
        lines.append(
            f"  … until the burst is digested {1000 * whole_cpu / seen:.2f} ms ({whole_cpu:.1f} cpu-s over "
            f"{whole_wall:.0f} s, the busy query's reads left out)"
        )
    drained = f"{drain:.0f} s after the busy query" if drain is not None else "not within the timeout"
    lines.append(f"burst digested                  {drained}")
    if paced:
        lat = paced["latency"]
        lines.append(
            f"paced {args.paced_rate:g}/s latency         p50 {lat['p50_ms']:.0f} / p99 {lat['p99_ms']:.0f} ms "
            f"({paced['missing']} missing)"
        )
        for name, hop in paced.get("hops", {}).items():
            lines.append(f"  {name:<48} p50 {hop['p50_ms']:.0f} / p99 {hop['p99_ms']:.0f} ms")
    lines.append(f"idle CPU of the stack           {idle:.1f} % of a core ({idle_seconds:g} s)")
    for label, q in queries.items():
        if q:
            lat = q["latency"]
            lines.append(
                f"credit query p99, {label:<40} {lat['p99_ms']:.2f} ms (p50 {lat['p50_ms']:.2f}; "
                f"{q['requests_per_s']:,.0f} req/s, {q['errors']} errors; gateway + publication + their "
                f"PostgreSQL {q['read_path_cpu_ms']:.2f} CPU-ms a request)"
            )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
