"""Issue 21 (3): the local runner starts a crashed process again, with backoff and a log line, and
gives up only on a crash loop. Real child processes, killed with SIGKILL."""

import logging
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from deploy.local.components import ManagedProcess
from deploy.local.supervisor import CrashLoop, Supervisor

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(120)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


def start(name: str, argv: list[str], tmp_path: Path, append: bool = False) -> ManagedProcess:
    return ManagedProcess(name).start(argv, log_file=tmp_path / f"{name}.log", append=append)


def poll_until(sup: Supervisor, condition, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        sup.poll()
        time.sleep(0.02)


def test_a_killed_process_is_started_again_and_the_others_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sup = Supervisor(backoff=0.2, max_backoff=1.0)
    procs = {name: start(name, SLEEPER, tmp_path) for name in ("evaluation", "publication")}
    for name in procs:
        sup.watch(name, procs[name], lambda name=name: start(name, SLEEPER, tmp_path, append=True))
    try:
        other_pid = procs["publication"].pid
        killed_pid = procs["evaluation"].pid
        assert killed_pid is not None
        poll_until(sup, lambda: "up" in (tmp_path / "evaluation.log").read_text())
        with caplog.at_level(logging.INFO, logger="deploy.local.supervisor"):
            os.kill(killed_pid, signal.SIGKILL)
            poll_until(sup, lambda: sup.restarts["evaluation"] == 1)
        again = sup.watched["evaluation"].proc
        assert again.alive and again.pid != killed_pid
        assert sup.watched["publication"].proc.pid == other_pid and sup.watched["publication"].proc.alive
        said = caplog.text
        assert "evaluation exited with code -9; starting it again" in said and "restarting evaluation" in said
        # The restarted process appends to the log of the crashed one.
        poll_until(sup, lambda: (tmp_path / "evaluation.log").read_text().count("up") == 2)
    finally:
        for w in sup.watched.values():
            w.proc.stop(timeout=2)


def test_pauses_grow_and_a_crash_loop_stops_the_runner(tmp_path: Path) -> None:
    sup = Supervisor(backoff=0.05, max_backoff=0.4, max_crashes=4, window=30)
    starts: list[float] = []

    def restart() -> ManagedProcess:
        starts.append(time.monotonic())
        return start("bad", CRASHER, tmp_path, append=True)

    sup.watch("bad", restart(), restart)
    with pytest.raises(CrashLoop, match="bad exited 4 times"):
        poll_until(sup, lambda: False, timeout=20)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 4 and gaps[-1] > gaps[0]  # 0.05, 0.1, 0.2 s: backoff
