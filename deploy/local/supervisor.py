"""Keeps the local stack's processes running (issue 21, point 3): a process that exits is started
again after a pause that doubles with each crash in a row (1 s up to 30 s), and the runner says so in
its log with the exit code and the last lines of the process's log. The runner stops only when asked
(Ctrl-C, SIGTERM) or when one process crash-loops: `max_crashes` exits within `window` seconds, the
sign of a fault a restart cannot fix (a bad setting, a port taken) — then it stops everything and
exits 1, as before, rather than restarting forever.

On a cluster the orchestrator does the same: a liveness probe on `/healthz` and a restart policy with
back-off (Kubernetes' CrashLoopBackOff), and a readiness probe on `/readyz` that takes a replica out
of rotation while its database, broker or Temporal is unavailable without restarting it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from deploy.local.components import ManagedProcess

log = logging.getLogger("deploy.local.supervisor")


class CrashLoop(Exception):
    """A process exited too often in too short a time: restarting it again would not help."""


@dataclass
class _Watched:
    proc: ManagedProcess
    restart: Callable[[], ManagedProcess]
    crashes: deque[float] = field(default_factory=deque)
    due: float | None = None  # when a crashed process is to be started again
    pause: float = 0.0
    started: float = 0.0


class Supervisor:
    def __init__(
        self,
        *,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_crashes: int = 5,
        window: float = 120.0,
        stable_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_crashes = max_crashes
        self.window = window
        self.stable_after = stable_after  # a run this long resets the pause to `backoff`
        self.clock = clock
        self.watched: dict[str, _Watched] = {}
        self.restarts: dict[str, int] = {}

    def watch(self, name: str, proc: ManagedProcess, restart: Callable[[], ManagedProcess]) -> None:
        """Keep `proc` running; `restart()` starts it again and returns the new process."""
        self.watched[name] = _Watched(proc, restart, pause=self.backoff, started=self.clock())
        self.restarts.setdefault(name, 0)

    def poll(self) -> None:
        """One look at every process: note what exited, start again what is due. CrashLoop when a
        process exited `max_crashes` times within `window` seconds."""
        now = self.clock()
        for name, w in self.watched.items():
            if w.due is None and not w.proc.alive:
                self._crashed(name, w, now)
            if w.due is not None and now >= w.due:
                log.info("restarting %s (restart %d)", name, self.restarts[name] + 1)
                try:
                    w.proc = w.restart()
                except Exception as exc:  # noqa: BLE001 - a failed start counts as a crash
                    log.error("%s did not start again: %s", name, exc)
                    w.due = None
                    continue
                self.restarts[name] += 1
                w.due, w.started = None, self.clock()

    def _crashed(self, name: str, w: _Watched, now: float) -> None:
        w.crashes.append(now)
        while w.crashes and now - w.crashes[0] > self.window:
            w.crashes.popleft()
        if len(w.crashes) >= self.max_crashes:
            raise CrashLoop(
                f"{name} exited {len(w.crashes)} times within {self.window:g} s (last code {w.proc.returncode});"
                f" last lines of {w.proc.log_file}:\n{w.proc.tail()}"
            )
        if now - w.started >= self.stable_after:
            w.pause = self.backoff
        log.error(
            "%s exited with code %s; starting it again in %.0f s; last lines of %s:\n%s",
            name,
            w.proc.returncode,
            w.pause,
            w.proc.log_file,
            w.proc.tail(10),
        )
        w.due = now + w.pause
        w.pause = min(w.pause * 2, self.max_backoff)
