"""Every saved workflow history (tests/workflows/histories/*.json) replayed against today's
workflow code: a change that would break a running workflow fails here, and ships behind
`workflow.patched()` instead. How the files are made: tests/workflows/saved.py."""

import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.workflows.saved import HISTORIES, RegenerationRefused, save_history
from workflows.worker import WORKFLOWS

# The branches each workflow has a saved history of (name of the file without `.json`).
BRANCHES = {
    "AnnualEvaluationWorkflow": {
        "annual_evaluation_published_v1": "decision: publish; the purchaser below the threshold gets an interview task",
        "annual_evaluation_redrafted_v1": "decision: redraft, then publish (two review rounds)",
        "annual_evaluation_published_v2": "figures collected (patch collect-figures), then published; an interview",
        "annual_evaluation_redrafted_v2": "figures collected again for the redraft (patch collect-figures)",
    },
    "AnnualReportWorkflow": {
        "annual_report_published_v1": "decision: the supervisor publishes the year's report",
        "annual_report_returned_v1": "decision: returned, nothing published",
    },
    "AppealReviewWorkflow": {
        "appeal_v1": "decision: corrected (record withdrawn)",
        "appeal_uphold_v1": "decision: upheld",
        "appeal_second_round_v1": "a refused correction opens a second round",
        "appeal_escalated_v1": "timeout: reminder and two escalations, then decided",
        "appeal_closed_v1": "cancellation: record out of force before review",
        # Behind workflow.patched("appeal-review-replan"): the review task carries the law's last day
        # and a re-planned due date is announced (`replan_due`); the v1 files replay on the old path.
        "appeal_due_replanned_v2": "due date re-planned twice by `replan_due` (a repeat, an earlier one ignored)",
    },
    "CollusionTriageWorkflow": {
        "collusion_triage_referred_v1": "decision: refer two of three suppliers",
        "collusion_triage_dismissed_v1": "decision: dismiss, nothing filed",
    },
    "DeadlineClockWorkflow": {
        "deadline_clock_overdue_v1": "due soon on a 调休 Saturday, overdue, task dismissed",
        "deadline_clock_reported_v1": "a provisional year: overdue, task decided report_behaviour",
        "deadline_clock_in_time_v1": "stopped by the contract before the due date",
        "deadline_clock_reminded_v1": "overdue on arrival, task decided remind",
        # Issue 13 with 12, behind workflow.patched("clock-replan-on-calendar"); the v1 files (saved
        # before it) replay on the old path, where `replan` is ignored.
        "deadline_clock_replanned_v2": "a provisional due date moved by `replan` when the year is installed",
    },
    "DeterminationWorkflow": {
        "determination_v1": "decision: determined and applied",
        "determination_cancelled_v1": "cancellation: task cancelled, nothing applied",
        # Issue 16 point 5, behind workflow.patched("notice-before-listing"); determination_v1 (saved
        # by the code before it: determine applied at once) still replays on its old path.
        "determination_confirmed_v2": "determine, notice, listing confirmed by the officer",
        "determination_withdrawn_v2": "determine, notice, withdrawn: nothing listed",
        "determination_window_passed_v2": "determine, notice, the statement window passes: listed",
    },
    "ExpertStandingWorkflow": {
        "expert_standing_v1": "timeout: a year's suspension ends on its timer",
        "expert_standing_training_v1": "low score until training",
        "expert_standing_removed_v1": "serious record: removed",
        "expert_standing_withdrawn_v1": "cancellation: record withdrawn, reinstated",
        "expert_standing_continued_v1": "continue-as-new",
        # Issue 16 point 8: Luoyang applies Art. 25 only (no score), with the patch marker.
        "expert_standing_v2": "five general records suspend for the year, no score regime",
    },
    "HumanTaskWorkflow": {
        "human_task_v1": "timeout: reminder and escalations, decided late",
        "human_task_decided_v1": "decision before the due date",
        "human_task_cancelled_v1": "cancellation",
        # Saved before re-planning (issue 12): an appeal review opened 2026-12-20 on the provisional
        # 2027 calendar, reminded, escalated, decided.
        "human_task_replanned_v1": "a provisional plan re-planned twice when the year is installed, then decided",
        "human_task_provisional_v1": "a provisional plan, from before workflow.patched('replan-on-calendar')",
    },
    "InterceptionWorkflow": {
        "interception_reported_v1": "decision: report_behaviour through the intake",
        "interception_dismissed_v1": "decision: dismissed",
    },
    "LedgerCheckpointWorkflow": {"ledger_checkpoints_v1": "rounds on the interval timer, then continue-as-new"},
    "PeriodicNoticeWorkflow": {"notices_v1": "timer: a month's notice"},
    "PushWorkflow": {
        "pushes_v1": "timeout: a task opened, an officer's decision",
        "pushes_retried_v1": "retried until accepted",
        "pushes_new_round_v1": "decision: a new round; a late success cancels its task",
    },
    "RecordExpiryWorkflow": {"record_expiry_v1": "timer: a record expires after a year"},
    "RecordRepairWorkflow": {
        "repair_v1": "decision: approved at six months",
        "repair_rejected_then_approved_v1": "decision: rejected, then approved",
        "repair_escalated_v1": "timeout: review past its due date escalates",
        "repair_expired_v1": "timeout: the record expires while an application is open",
        "repair_withdrawn_v1": "cancellation: record withdrawn during the review",
    },
}
SAVED = sorted(HISTORIES.glob("*.json"))


def workflow_type(path) -> str:  # type: ignore[no-untyped-def]
    first = json.loads(path.read_text())["events"][0]
    return first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]


def test_every_workflow_has_its_branches_saved_and_nothing_else_is() -> None:
    assert set(BRANCHES) == {w.__name__ for w in WORKFLOWS}
    assert {p.stem for p in SAVED} == {name for branches in BRANCHES.values() for name in branches}
    for path in SAVED:
        (owner,) = [w for w, branches in BRANCHES.items() if path.stem in branches]
        assert workflow_type(path) == owner, path.name


@pytest.mark.parametrize("path", SAVED, ids=[p.stem for p in SAVED])
async def test_replay_saved_history(path) -> None:  # type: ignore[no-untyped-def]
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter).replay_workflow(history)


def test_ci_refuses_to_regenerate_histories(monkeypatch: pytest.MonkeyPatch) -> None:
    history = WorkflowHistory.from_json("appeal_v1", (HISTORIES / "appeal_v1.json").read_text())
    before = (HISTORIES / "appeal_v1.json").read_bytes()
    monkeypatch.setenv("SAVE_HISTORIES", "1")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(RegenerationRefused):
        save_history("appeal_v1", history)
    assert (HISTORIES / "appeal_v1.json").read_bytes() == before
