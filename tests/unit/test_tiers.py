"""Issue 19: CPU priority tiers. Every process in the runner's table has a tier, the test stack runs
the same table, and a background process starts (and restarts) at the background niceness while
read and intake stay at 0; `CREDIT_LOCAL_NICE=0` turns it off."""

import os
import sys
from pathlib import Path

import pytest

from deploy.local.components import ManagedProcess
from deploy.local.stack import GATEWAY, SERVICES, LocalStack
from deploy.local.tiers import DEFAULT_BACKGROUND_NICE, NICE_ENV, TEMPORAL_TIER, Tier, niceness
from tests.stack import Stack
from tests.unit.test_production_settings import readme_table_names

BACKGROUND = ("repair", "appeal", "casework", "watch", "signals", "evaluations", "statistics", "workflows")
EXPECTED = {
    "gateway": Tier.READ,
    "evaluation": Tier.INTAKE,
    "evaluation-2": Tier.INTAKE,
    "publication": Tier.INTAKE,
    **dict.fromkeys(
        ("repair", "appeal", "casework", "watch", "signals", "evaluations", "statistics", "workflows"), Tier.BACKGROUND
    ),
}
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def proc_nice(pid: int) -> int:
    """Field 19 of /proc/<pid>/stat; the command (field 2) may hold spaces, so count after ')'."""
    after_comm = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(after_comm[19 - 3])


def test_every_process_of_the_runner_has_the_tier_the_issue_gives_it() -> None:
    assert {spec.name: spec.tier for spec in (*SERVICES, GATEWAY)} == EXPECTED
    assert TEMPORAL_TIER is Tier.BACKGROUND


def test_the_test_stack_runs_the_runners_table_with_its_tiers() -> None:
    assert Stack.SERVICES == tuple((s.name, s.module) for s in (*SERVICES, GATEWAY))
    assert Stack.TIERS == EXPECTED


def test_only_the_background_tier_is_niced_and_the_setting_turns_it_off() -> None:
    assert niceness(Tier.BACKGROUND, {}) == DEFAULT_BACKGROUND_NICE == 10
    assert niceness(Tier.READ, {}) == niceness(Tier.INTAKE, {}) == 0
    assert niceness(Tier.BACKGROUND, {NICE_ENV: "0"}) == 0
    assert niceness(Tier.BACKGROUND, {NICE_ENV: "5"}) == 5
    assert niceness(Tier.READ, {NICE_ENV: "5"}) == 0
    for bad in ("-5", "20", "ten"):
        with pytest.raises(ValueError, match=NICE_ENV):
            niceness(Tier.BACKGROUND, {NICE_ENV: bad})


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_process_started_with_a_niceness_runs_at_it() -> None:
    base = os.nice(0)  # the niceness this test runs at, which children inherit
    niced = ManagedProcess("niced").start(SLEEPER, nice=10)
    plain = ManagedProcess("plain").start(SLEEPER)
    try:
        assert niced.pid is not None and plain.pid is not None
        assert proc_nice(niced.pid) == min(base + 10, 19)
        assert proc_nice(plain.pid) == base
    finally:
        niced.stop()
        plain.stop()


SPINNER = [
    sys.executable,
    "-c",
    "import os, time\n"
    "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
    "end = time.monotonic() + 1.5\n"
    "while time.monotonic() < end: pass\n"
    "print(time.process_time())",
]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pins both to one CPU")
def test_a_niced_process_yields_the_cpu_to_a_plain_one(tmp_path: Path) -> None:
    """Both spin on the same CPU for the same 1.5 s: the niced one gets a small share (weight 110
    against 1024 at nice 10), not half. Each is a session of its own, and with the kernel's
    autogroups on the niceness of the process alone would not count between sessions."""
    niced = ManagedProcess("niced").start(SPINNER, nice=10, log_file=tmp_path / "niced.log")
    plain = ManagedProcess("plain").start(SPINNER, log_file=tmp_path / "plain.log")
    assert niced.wait(timeout=30) == 0 and plain.wait(timeout=30) == 0
    niced_cpu = float((tmp_path / "niced.log").read_text())
    plain_cpu = float((tmp_path / "plain.log").read_text())
    assert niced_cpu < plain_cpu / 2, (niced_cpu, plain_cpu)


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroups in this kernel")
def test_a_niced_process_session_autogroup_is_niced_too() -> None:
    niced = ManagedProcess("niced").start(SLEEPER, nice=7)
    try:
        assert niced.pid is not None
        assert Path(f"/proc/{niced.pid}/autogroup").read_text().split()[-1] == "7"
    finally:
        niced.stop()


def test_the_supervisors_restart_starts_a_background_service_niced_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(NICE_ENV, raising=False)
    started: dict[str, int] = {}

    def record(self: ManagedProcess, argv: object, **options: object) -> ManagedProcess:
        started[self.name] = int(options.get("nice", 0))  # type: ignore[call-overload]
        return self

    monkeypatch.setattr(ManagedProcess, "start", record)
    local = LocalStack(tmp_path)
    for spec in (*local.services, local.gateway):
        local.procs[spec.name] = ManagedProcess(spec.name)
    sup = local.supervisor()
    started.clear()
    for name in ("statistics", "gateway", "publication"):
        sup.watched[name].restart()
    assert started == {"statistics": 10, "gateway": 0, "publication": 0}


def test_the_setting_is_in_the_readme_table() -> None:
    assert NICE_ENV in readme_table_names()
