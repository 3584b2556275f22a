"""What the gateway's hop costs a credit query (issue 19), measured on one stack in alternation so
the three ways meet the same machine: the gateway answering from the read model itself, a second
gateway proxying to publication (as before issue 19), and publication called directly. Each way
runs `rounds` times for `seconds` at `rate` (a rate this machine serves without queueing, so the
figures are the path's own, not a backlog's), on the suppliers an earlier run seeded. Prints p50 /
p99 and the CPU-ms a request costs the processes on the read path (both gateways, publication and
the bench database's PostgreSQL backends; the same idle work of publication counts for every way).
Used by bench.run_all (`--gateway-cost`)."""

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from deploy.local.components import ManagedProcess, free_port, wait_for_http
from tests.stack import ROOT, Stack

READ_PATH = ("gateway", "gateway (proxying)", "publication", "postgres (bench db)")


def start_proxying_gateway(stack: Stack, log: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    # No database: the gateway proxies GET /v1/credit/... to publication (services/gateway/credit.py).
    env = {**stack.env(), "GATEWAY_PORT": str(port), "DATABASE_URL": ""}
    proc = ManagedProcess("gateway-proxying").start(
        [sys.executable, "-m", "services.gateway"], env=env, log_file=log, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/healthz", 60, proc)
    return proc, url


def measure(stack: Stack, bench: Any, known: str, *, rate: float, seconds: float, rounds: int) -> list[str]:
    proc, proxying = start_proxying_gateway(stack, bench.tmp / "gateway-proxying.log")
    assert proc.pid is not None
    bench.extra_roots["gateway (proxying)"] = proc.pid
    ways = {
        "gateway, own reads": stack.api,
        "gateway, proxying": proxying,
        "publication directly": stack.url("publication"),
    }
    p50: dict[str, list[float]] = defaultdict(list)
    p99: dict[str, list[float]] = defaultdict(list)
    cpu_ms: dict[str, list[float]] = defaultdict(list)
    try:
        for n in range(rounds):
            for way, api in ways.items():
                argv = [
                    "-m", "bench.credit_query", "--api", api, "--rate", f"{rate:g}", "--seconds", f"{seconds:g}",
                    "--known", known, "--warmup", "1",
                ]  # fmt: skip
                result, cpu = bench.run(f"gateway cost: {way}, round {n + 1} of {rounds}", argv)
                if result:
                    p50[way].append(result["latency"]["p50_ms"])
                    p99[way].append(result["latency"]["p99_ms"])
                    spent = sum(cpu.seconds.get(k, 0.0) for k in READ_PATH)
                    cpu_ms[way].append(1000 * spent / max(1, result["requests"]))
    finally:
        bench.extra_roots.pop("gateway (proxying)", None)
        proc.stop()
    lines = [f"gateway cost at {rate:g} requests/s, {rounds} rounds of {seconds:g} s each, alternating:"]
    for way in ways:
        if p50[way]:
            low, high = min(p50[way]), max(p50[way])
            low99, high99 = min(p99[way]), max(p99[way])
            spent = f"{min(cpu_ms[way]):.2f}-{max(cpu_ms[way]):.2f}"
            lines.append(
                f"  {way:<22} p50 {low:.2f}-{high:.2f} ms, p99 {low99:.2f}-{high99:.2f} ms, "
                f"read path {spent} CPU-ms a request"
            )
    return lines
