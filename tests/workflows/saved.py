"""Saved workflow histories (tests/workflows/histories/*.json) and how they are made.

Each important branch of each workflow (a decision, a timeout, a cancellation) is saved once from
the workflow test that drives it; tests/workflows/test_replay.py replays every saved file against
today's workflow code, so a change that would break a running workflow fails there and ships behind
`workflow.patched()` instead. A developer saves the histories not saved yet, on purpose:

    SAVE_HISTORIES=1 .venv/bin/python -m pytest tests/workflows -q

A saved file is never overwritten: it is what a workflow started by older code looks like, and
replacing it would hide the very break it is there to catch (a changed branch saves a new name,
e.g. `_v2`; deleting a file is a visible change in review). CI never saves: with CI set, saving
raises."""

import os
from pathlib import Path

from temporalio.client import WorkflowHistory

HISTORIES = Path(__file__).parent / "histories"


class RegenerationRefused(RuntimeError):
    pass


def save_history(name: str, history: WorkflowHistory) -> None:
    """Write `histories/{name}.json` when SAVE_HISTORIES is set and it does not exist yet; never in CI."""
    if not os.environ.get("SAVE_HISTORIES"):
        return
    if os.environ.get("CI"):
        raise RegenerationRefused("SAVE_HISTORIES is set in CI: histories are saved by a developer, never by CI")
    path = HISTORIES / f"{name}.json"
    if not path.exists():
        path.write_text(history.to_json())
