"""The review of an objection to a credit record (Shandong (十)), one workflow per appeal, id
`appeal:{appeal_id}`, started by the appeal service once it has accepted the appeal.

1. `mark_appealed`: the record is marked under objection (record.appealed.v1). It stays in force
   and published meanwhile, marked: an administrative act is not suspended while it is reviewed
   (行政复议法: 行政复议期间行政行为不停止执行), and a supplier could otherwise lift its own
   blacklisting for the length of a review just by objecting.
2. `get_record_facts`: who recorded it, so that officer is excluded from the review (the reviewer
   and the recorder are two different people).
3. A review task (child HumanTaskWorkflow, kind appeal_review) for the finance department of the
   record's region, due in the policy's working days, with its reminder and escalations. Its due
   date is the last working day by the law's last day (`review_due_by`), so casework's re-plan of
   the task after a holiday arrangement is installed never takes it past the law; the appeal
   service stores the appeal's own due date again and signals `replan_due`, announced here while
   the task is open (`workflow.patched("appeal-review-replan")`).
4. `correct` → `correct_record` (record.corrected.v1: another code, or withdrawn when no field is
   corrected); `uphold` → `uphold_record` (record.upheld.v1, the objection mark removed). Either
   way the reason reaches the applicant through the appeal (appeal.changed.v1).

A decision the evaluation service refuses (e.g. a corrected code of another subject type) and a
task cancelled from outside do not end the appeal: the applicant is owed a decision, so a new
review round opens with the refusal in its context. Expiry or repair of the record once the review
has begun does not end it either: a corrected record counts for nothing anywhere (the integrity
archive, the good-credit look-back, an expert's score), an expired or repaired one still does. A
record that left force between the filing and step 1 is not marked, and the appeal is closed.
Every change of the appeal is reported to the appeal service (`record_appeal_change`)."""

from datetime import date, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.activity_names import (
    CORRECT_RECORD,
    GET_RECORD_FACTS,
    MARK_APPEALED,
    RECORD_APPEAL_CHANGE,
    UPHOLD_RECORD,
)

with workflow.unsafe.imports_passed_through():
    from services.common.temporal import APPEAL_ACTIVITIES, EVALUATION_ACTIVITIES
    from workflows.appeal.inputs import (
        TERMINAL_STATES,
        AppealChange,
        AppealDueReplan,
        AppealResult,
        AppealReviewInput,
        AppealState,
        corrections_of,
        review_task_id,
    )
    from workflows.human_task.inputs import TaskOutcome, TaskSpec, task_workflow_id
    from workflows.human_task.workflow import HumanTaskWorkflow
    from workflows.record_inputs import AppealMark, AppealResolution, RecordChangeResult, RecordFacts, RecordRef

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Appeals started before it keep `execute_child_workflow` without a legal deadline on their task
# and never announce `replan_due` (their histories replay on that path).
REPLAN_PATCH = "appeal-review-replan"
# Until the service answers: the record changes only through these activities, never around them.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# A wrongly blacklisted supplier is barred from every tender until the review ends: serious first.
PRIORITY = {"serious": 30, "general": 50}
ResultT = TypeVar("ResultT")
RESOLVE: dict[str, tuple[str, AppealState]] = {
    "correct": (CORRECT_RECORD, "corrected"),
    "uphold": (UPHOLD_RECORD, "upheld"),
}


@workflow.defn
class AppealReviewWorkflow:
    def __init__(self) -> None:
        self._version = 1  # the filing, stored by the service
        self._state: AppealState = "filed"
        self._task_id: str | None = None
        self._appeal_id = ""
        self._due_pending: AppealDueReplan | None = None
        self._due_announced: AppealDueReplan | None = None

    @workflow.run
    async def run(self, inp: AppealReviewInput) -> AppealResult:
        self._appeal_id = inp.appeal_id
        mark = AppealMark(
            record_id=inp.record_id, appeal_id=inp.appeal_id, filed_at=inp.filed_at, applicant=inp.applicant
        )
        try:
            marked: RecordChangeResult = await self._evaluation(MARK_APPEALED, mark, RecordChangeResult)
            facts: RecordFacts = await self._evaluation(
                GET_RECORD_FACTS, RecordRef(record_id=inp.record_id), RecordFacts
            )
        except ActivityError as exc:
            if not _refused(exc):
                raise
            return await self._close(inp, f"the record could not be marked under objection: {exc.cause}")
        # Marked by this appeal (now or by an earlier attempt): the facts say so, whatever `applied`
        # says. Otherwise the record left force between filing and review (expired, repaired,
        # withdrawn): nothing is published or applied any more, so there is nothing to review.
        if facts.open_appeal_id != inp.appeal_id:
            return await self._close(inp, marked.note or f"the record is {facts.status}")
        note, round_no = "", 1
        while True:
            self._task_id = review_task_id(inp.appeal_id, round_no)
            await self._change(inp, "under_review", task_id=self._task_id, note=note)
            if workflow.patched(REPLAN_PATCH):
                task = await workflow.start_child_workflow(
                    HumanTaskWorkflow.run,
                    self._spec(inp, facts, note, due_by=inp.review_due_by),
                    id=task_workflow_id(self._task_id),
                )
                await self._announce_due_while(inp, task)
                outcome: TaskOutcome = await task
            else:
                outcome = await workflow.execute_child_workflow(
                    HumanTaskWorkflow.run,
                    self._spec(inp, facts, note),
                    id=task_workflow_id(self._task_id),
                )
            decision = outcome.decision
            if decision is None or decision.decision not in RESOLVE:
                note = f"review task {self._task_id} ended without a decision ({outcome.cancelled_reason or 'none'})"
                round_no += 1
                continue
            activity, state = RESOLVE[decision.decision]
            corrections = corrections_of(decision.fields) if decision.decision == "correct" else {}
            resolution = AppealResolution(
                record_id=inp.record_id,
                appeal_id=inp.appeal_id,
                reason=decision.reason,
                decided_by=decision.decided_by,
                decided_at=decision.decided_at,
                corrections=corrections,
            )
            try:
                result: RecordChangeResult = await self._evaluation(activity, resolution, RecordChangeResult)
            except ActivityError as exc:
                if not _refused(exc):
                    raise
                note = f"the decision '{decision.decision}' of {self._task_id} was refused: {exc.cause}"
                round_no += 1
                continue
            await self._change(
                inp,
                state,
                task_id=self._task_id,
                decision=decision.decision,
                reason=decision.reason,
                fields=corrections,
                decided_by=decision.decided_by,
                decided_at=decision.decided_at,
                record_version=result.version,
                record_status=result.status,
                note=result.note,
            )
            return AppealResult(
                appeal_id=inp.appeal_id,
                state=state,
                decision=decision.decision,
                record_version=result.version,
                record_status=result.status,
                rounds=round_no,
            )

    async def _close(self, inp: AppealReviewInput, note: str) -> AppealResult:
        await self._change(inp, "closed", note=note)
        return AppealResult(appeal_id=inp.appeal_id, state="closed", rounds=0)

    async def _announce_due_while(self, inp: AppealReviewInput, task: workflow.ChildWorkflowHandle) -> None:
        """Until the review task ends, each due date the service re-planned is announced once."""
        while True:
            await workflow.wait_condition(lambda: task.done() or self._due_pending is not None)
            if task.done():
                return
            assert self._due_pending is not None
            due = self._due_pending
            mark = " (provisional)" if due.provisional else ""
            note = f"review due date re-planned to {due.due_on.isoformat()}{mark}: {due.reason}"
            await self._change(inp, "under_review", task_id=self._task_id, note=note)

    @workflow.signal
    def replan_due(self, replan: AppealDueReplan) -> None:
        """The review's due date was counted again (sent by the appeal service's re-planner)."""
        if self._state in TERMINAL_STATES:
            return
        held = self._due_pending or self._due_announced
        if held is not None and (replan.due_on, replan.provisional) == (held.due_on, held.provisional):
            return  # heard again (a redelivered command, a replayed announcement): announced once
        if held is not None and replan.due_on < held.due_on:
            return  # a shown due date never moves earlier
        self._due_pending = replan

    @workflow.query
    def get_state(self) -> AppealChange:
        return AppealChange(appeal_id=self._appeal_id, version=self._version, state=self._state, task_id=self._task_id)

    def _spec(self, inp: AppealReviewInput, facts: RecordFacts, note: str, due_by: date | None = None) -> TaskSpec:
        context = {
            "appeal_id": inp.appeal_id,
            "applicant": inp.applicant,
            "grounds": inp.grounds,
            # Links only (tasks are for finance); the reviewer opens them where they are kept.
            "evidence": inp.evidence,
            "filed_at": inp.filed_at.isoformat(),
            # Shown by casework beside the record: the appeal with its evidence, for finance.
            "links": {"appeal": f"/v1/appeals/{inp.appeal_id}"},
            "record": {
                "record_id": facts.record_id,
                "version": facts.version,
                "status": facts.status,
                "behaviour_code": facts.behaviour_code,
                "severity": facts.severity,
                "recorded_on": facts.recorded_on.isoformat(),
                "valid_until": facts.valid_until.isoformat(),
            },
            "decisions": {
                "correct": "fields: behaviour_code (and determination for a serious code), or none to withdraw",
                "uphold": "the record stands; the objection mark is removed",
            },
        }
        if note:
            context["previous_round"] = note
        return TaskSpec(
            task_id=self._task_id or review_task_id(inp.appeal_id, 1),
            kind="appeal_review",
            region=facts.region,
            title=f"异议复核 {facts.behaviour_code}: {facts.subject.get('name', '')}",
            subject=facts.subject,
            record_id=inp.record_id,
            context=context,
            due_working_days=inp.due_working_days,
            due_by=due_by,
            reminder_working_days_before=inp.reminder_working_days_before,
            escalation_working_days_after=inp.escalation_working_days_after,
            # Unknown recorder (e.g. a platform's report over Kafka): nobody is excluded by name.
            excluded_officers=[facts.recorded_by] if facts.recorded_by else [],
            priority=PRIORITY.get(facts.severity, 50),
            parent_workflow_id=workflow.info().workflow_id,
        )

    async def _evaluation(self, name: str, arg: object, result_type: type[ResultT]) -> ResultT:
        return await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            task_queue=EVALUATION_ACTIVITIES,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
        )

    async def _change(self, inp: AppealReviewInput, state: AppealState, **fields: object) -> None:
        self._version += 1
        self._state = state
        # Every change is announced with the due date stored on the appeal at that moment: a
        # re-planned date waiting to be announced goes with it.
        if self._due_pending is not None:
            self._due_announced, self._due_pending = self._due_pending, None
        change = AppealChange.model_validate(
            {"appeal_id": inp.appeal_id, "version": self._version, "state": state, **fields}
        )
        await workflow.execute_activity(
            RECORD_APPEAL_CHANGE,
            change,
            task_queue=APPEAL_ACTIVITIES,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
        )


def _refused(exc: ActivityError) -> bool:
    """The evaluation service refused the change for good (not a transient failure)."""
    return isinstance(exc.cause, ApplicationError) and exc.cause.non_retryable
