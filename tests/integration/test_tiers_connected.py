"""Issue 19: in the running stack a background service and Temporal's dev server run at niceness
+10 (every thread of them), the gateway and the intake path at 0 (unless the machine's setting
turned the tiers off)."""

import os
from pathlib import Path

import pytest

from deploy.local.tiers import NICE_ENV, TEMPORAL_TIER, Tier, niceness
from tests.stack import Stack

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def thread_nices(pid: int) -> set[int]:
    """Field 19 (nice) of /proc/<pid>/task/<tid>/stat for every thread; the command (field 2) may
    hold spaces, so the fields are counted after its closing ')'."""
    nices = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        nices.add(int(fields[19 - 3]))
    return nices


def test_background_processes_run_niced_and_the_read_and_intake_paths_do_not(stack: Stack) -> None:
    if os.environ.get(NICE_ENV, "").strip() == "0":
        pytest.skip(f"{NICE_ENV}=0 turned the tiers off")
    base = os.nice(0)  # what the stack's children inherit before their tier
    background = min(base + niceness(Tier.BACKGROUND), 19)
    assert background == min(base + 10, 19)
    expected = {"statistics": background, "workflows": background, "gateway": base, "evaluation": base}
    assert niceness(TEMPORAL_TIER) == niceness(Tier.BACKGROUND)
    expected["temporal"] = background
    seen = {}
    for name in expected:
        pid = stack.procs[name].pid
        assert pid is not None and stack.procs[name].alive, name
        seen[name] = thread_nices(pid)
    assert seen == {name: {nice} for name, nice in expected.items()}
    if Path("/proc/self/autogroup").exists():  # each is a session: its autogroup must be niced too
        groups = {name: autogroup_nice(stack.procs[name].pid) for name in expected}
        lowered = niceness(Tier.BACKGROUND)  # written as is, not added to the runner's own
        assert groups == {name: lowered if nice != base else 0 for name, nice in expected.items()}


def autogroup_nice(pid: int | None) -> int:
    """`/autogroup-<n> nice <k>`: the niceness of the process's session's autogroup."""
    return int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])
