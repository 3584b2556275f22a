"""Which process used the CPU during a benchmark: a sampler of /proc (Linux), one sample a second.

Each stack process is counted with its children; PostgreSQL backends are split into those of the
benchmark's database (their command line names it) and the rest of the server, and autovacuum
workers apart from the backends that answer the services (both count in the stack's figures); `other` is what
the rest of the machine used (e.g. another engineer's tests), from /proc/stat.
"""

import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
BENCH_DB = "postgres (bench db)"
REST_OF_SERVER = "postgres (rest of server)"
PROC = Path("/proc")
# Not the stack: the load generator and the rest of the PostgreSQL server.
STACK_EXCLUDES = ("bench client", REST_OF_SERVER, "postgres autovacuum (rest of server)")


def _ticks(pid: int) -> int | None:
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


def _ppid_and_cmd(pid: int) -> tuple[int, str] | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        cmd = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1]), cmd


def _machine_busy_ticks() -> tuple[int, int]:
    parts = [int(x) for x in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


class CpuSampler:
    """`roots()` gives {label: pid} of the processes to follow (their descendants count with them)."""

    def __init__(self, roots: Callable[[], dict[str, int]], database: str | None, interval: float = 1.0) -> None:
        self._roots = roots
        self._database = database
        self._interval = interval
        self._last: dict[int, int] = {}
        self.seconds: dict[str, float] = defaultdict(float)
        self.peak: dict[str, float] = defaultdict(float)
        # The bench database's backends by the role they serve (each service connects as its own).
        self.pg_roles: dict[str, float] = defaultdict(float)
        self._role_of: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._wall = 0.0
        self._machine0 = (0, 0)
        self._machine1 = (0, 0)

    def _labels(self) -> dict[int, str]:
        roots = {pid: label for label, pid in self._roots().items()}
        procs: dict[int, tuple[int, str]] = {}
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                info = _ppid_and_cmd(int(entry.name))
                if info:
                    procs[int(entry.name)] = info
        labels: dict[int, str] = {}
        for pid, (_, cmd) in procs.items():
            if cmd.startswith("postgres"):
                mine = self._database is not None and f" {self._database} " in f"{cmd} "
                what = "autovacuum" if "autovacuum worker" in cmd else ""
                where = "bench db" if mine else "rest of server"
                labels[pid] = f"postgres {what} ({where})".replace("  ", " ")
                # "postgres: 15/main: <role> <database> <client> <state>"
                parts = cmd.split(": ", 2)
                if mine and not what and len(parts) == 3:
                    self._role_of[pid] = parts[2].split(" ", 1)[0]
                continue
            p, seen = pid, 0
            while p in procs and seen < 64:
                if p in roots:
                    labels[pid] = roots[p]
                    break
                p, seen = procs[p][0], seen + 1
        return labels

    def _sample(self, dt: float) -> None:
        per_label: dict[str, float] = defaultdict(float)
        current: dict[int, int] = {}
        for pid, label in self._labels().items():
            t = _ticks(pid)
            if t is None:
                continue
            current[pid] = t
            if pid in self._last:
                delta = (t - self._last[pid]) / TICK
                self.seconds[label] += delta
                per_label[label] += delta
                if label == BENCH_DB and pid in self._role_of:
                    self.pg_roles[self._role_of[pid]] += delta
        self._last = current
        if dt > 0:
            for label, s in per_label.items():
                self.peak[label] = max(self.peak[label], 100 * s / dt)

    def _loop(self) -> None:
        prev = time.monotonic()
        while not self._stop.wait(self._interval):
            now = time.monotonic()
            self._sample(now - prev)
            prev = now

    def __enter__(self) -> "CpuSampler":
        self._machine0 = _machine_busy_ticks()
        self._started = time.monotonic()
        self._sample(0)
        self._thread = threading.Thread(target=self._loop, name="cpu-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self._wall = time.monotonic() - self._started
        self._machine1 = _machine_busy_ticks()

    @property
    def wall(self) -> float:
        """Seconds sampled (after exit; so far while running)."""
        return self._wall or time.monotonic() - self._started

    @property
    def other_seconds(self) -> float:
        """CPU-seconds the rest of the machine used (after exit)."""
        busy = (self._machine1[0] - self._machine0[0]) / TICK
        return max(0.0, busy - sum(self.seconds.values()))

    def stack_seconds(self, exclude: tuple[str, ...] = STACK_EXCLUDES) -> float:
        """CPU-seconds of the whole stack (its processes, their children, the bench database's
        PostgreSQL backends), without the load generator and the rest of the server."""
        return sum(s for label, s in self.seconds.items() if label not in exclude)

    def table(self) -> list[str]:
        wall = max(self._wall, 1e-9)
        busy = (self._machine1[0] - self._machine0[0]) / TICK
        ours = sum(self.seconds.values())
        lines = [f"  CPU over {wall:.0f} s (100% = one core; {os.cpu_count()} cores):"]
        for label, s in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {label:<26} {s:7.1f} cpu-s  avg {100 * s / wall:5.0f}%  peak {self.peak[label]:4.0f}%")
            if label == BENCH_DB:
                for role, r in sorted(self.pg_roles.items(), key=lambda kv: -kv[1]):
                    if r >= 0.05:
                        lines.append(f"      {'serving ' + role:<24} {r:7.1f} cpu-s")
        lines.append(
            f"    {'other (rest of machine)':<26} {max(0.0, busy - ours):7.1f} cpu-s  avg "
            f"{100 * max(0.0, busy - ours) / wall:5.0f}%"
        )
        lines.append(f"    {'machine total':<26} {busy:7.1f} cpu-s  avg {100 * busy / wall:5.0f}%")
        return lines
