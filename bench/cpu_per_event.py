"""CPU per intake event of the whole stack, including the work the intake leaves behind (issue 19).

    python -m bench.cpu_per_event [--events 5000] [--drain-timeout 900] [--py-spy DIR] [--repeat 1]

Starts a fresh stack (tests.stack.Stack, as `bench.run_all`), warms it up with 200 events, then
runs `bench.intake` with `--events` as fast as possible and keeps sampling the CPU of every process
(bench/cpu.py) until what the intake ordered is done: every command outbox (`*_command`, the
workflow starts and signals owed to Temporal) and every event outbox (`*_outbox` rows after its
relay's cursor) is empty, and 10 s more. The stack's idle CPU (sampled for `--idle-seconds` before
the intake: metric samplers, relays polling, consumers fetching) is printed, and each figure is
also given less that idle rate over its time. A figure taken over the
intake run alone would not count work deferred past it (e.g. repair workflow starts paced at 50/s
run for minutes after the last record is published).

It prints two tables: the intake run (what `bench.run_all` counts) and intake + drain, each as
CPU-ms per event per process and for the whole stack (the bench client and the rest of the machine
apart). With `--py-spy DIR` it records every service process during the intake and the drain
(`py-spy record --format raw`, collapsed stacks) and prints the top functions by own and by
inclusive samples of each (bench/profile_top.py reads the files again later).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.backlog import wait_drained
from bench.common import DEPLOYED_PACE, out, stop_stack
from bench.cpu import CpuSampler
from tests.stack import ROOT, Stack


def _mine(label: str) -> bool:
    return "(rest of server)" not in label and label != "bench client"


def _stack_seconds(cpu: CpuSampler) -> float:
    return sum(v for k, v in cpu.seconds.items() if _mine(k))


class _PySpy:
    def __init__(self, stack: Stack, directory: Path | None, label: str) -> None:
        self.stack, self.directory, self.label = stack, directory, label
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> "_PySpy":
        if self.directory is None:
            return self
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, proc in self.stack.procs.items():
            if proc.pid is None or name in ("tansu", "temporal"):
                continue
            target = self.directory / f"{self.label}-{name}.txt"
            self.procs.append(
                subprocess.Popen(
                    [spy, "record", "--pid", str(proc.pid), "--format", "raw", "--rate", "50",
                     "--nonblocking", "--subprocesses", "-o", str(target)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for p in self.procs:
            p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def _per_event(cpu: CpuSampler, events: int, title: str, idle: CpuSampler) -> None:
    """Per process: CPU-ms per event, and less the process's own idle rate over the same time."""
    out(f"  {title}: CPU-ms per event ({events} events, {cpu.wall:.0f} s); 'net' = less the idle rate")
    wall, idle_wall = cpu.wall, max(idle.wall, 1e-9)
    for label, s in sorted(cpu.seconds.items(), key=lambda kv: -kv[1]):
        net = s - idle.seconds.get(label, 0.0) / idle_wall * wall
        note = "" if _mine(label) else "  (not the stack)"
        out(f"    {label:<26} {1000 * s / events:7.3f} ms  net {1000 * net / events:7.3f} ms  ({s:6.1f} cpu-s){note}")
    stack = _stack_seconds(cpu)
    net = stack - _stack_seconds(idle) / idle_wall * wall
    whole = f"{1000 * stack / events:7.3f} ms  net {1000 * net / events:7.3f} ms  ({stack:6.1f} cpu-s)"
    out(f"    {'WHOLE STACK':<26} {whole}")
    other = cpu.other_seconds
    out(f"    machine: rest of it {other:.1f} cpu-s ({100 * other / max(wall, 1e-9):.0f}% of a core avg)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cpu_per_event", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=5000)
    p.add_argument("--drain-timeout", type=float, default=900.0)
    p.add_argument("--idle-seconds", type=float, default=20.0, help="idle CPU sampled before the intake")
    p.add_argument("--py-spy", type=Path, default=None, help="record each service with py-spy into DIR")
    p.add_argument("--keep-logs", type=Path, help="copy the services' logs here before the stack goes")
    args = p.parse_args(argv)
    out(f"load average before start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="credit-cpu-") as tmp:
        stack = Stack(workdir=Path(tmp), env_overrides=DEPLOYED_PACE)
        database = ""
        try:
            stack.start()
            database = stack.database_url.rsplit("/", 1)[1]
            kafka = ["--bootstrap", stack.bootstrap]
            warm = subprocess.run([sys.executable, "-m", "bench.intake", "--events", "200", *kafka], cwd=ROOT)
            if warm.returncode:
                out("warm-up failed")
                return 1
            # Let the warm-up's deferred work finish before measuring.
            wait_drained(stack.database_url, stack.bootstrap, timeout=args.drain_timeout)
            roots: dict[str, int] = {}

            def stack_roots() -> dict[str, int]:
                r = {name: pr.pid for name, pr in stack.procs.items() if pr.pid is not None}
                return {**r, **roots}

            with CpuSampler(stack_roots, database) as idle:
                time.sleep(args.idle_seconds)
            idle_rate = _stack_seconds(idle) / max(idle.wall, 1e-9)
            out(f"idle stack before intake: {100 * idle_rate:.0f}% of a core ({args.idle_seconds:g} s)")
            for label, s in sorted(idle.seconds.items(), key=lambda kv: -kv[1]):
                out(f"    {label:<26} {100 * s / max(idle.wall, 1e-9):5.1f}%")
            out(f"load average before intake: {os.getloadavg()}")
            with _PySpy(stack, args.py_spy, "intake"), CpuSampler(stack_roots, database) as total:
                with CpuSampler(stack_roots, database) as intake:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "bench.intake", "--events", str(args.events), *kafka], cwd=ROOT
                    )
                    roots["bench client"] = proc.pid
                    code = proc.wait()
                waited = wait_drained(stack.database_url, stack.bootstrap, timeout=args.drain_timeout, settle=10)
                drained = waited is not None
            out(f"load average after: {os.getloadavg()}")
            if code:
                out(f"  (bench.intake exit status {code})")
            _per_event(intake, args.events, "intake run", idle)
            _per_event(total, args.events, "intake + drain" + ("" if drained else " (NOT drained: timeout)"), idle)
            if args.py_spy:
                from bench.profile_top import report

                for f in sorted(args.py_spy.glob("intake-*.txt")):
                    report(f, top=25)
            return 1 if code or not drained else 0
        finally:
            stop_stack(stack, Path(tmp), args.keep_logs)


if __name__ == "__main__":
    raise SystemExit(main())
