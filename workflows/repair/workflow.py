"""Credit repair of one record (001 Art. 20, 002 (十一)), id `repair:{record_id}`, started by the
repair service when a repairable record is created.

It waits from the record date until the window opens (00:00 Asia/Shanghai of the day the policy's
wait ends), tells the subject (`publish_repair_window`: status row and repair.opened.v1), then
takes applications until the record expires. Each application becomes a review task for the
finance department of the record's region (a child HumanTaskWorkflow of kind repair_review, due in
the policy's working days, with its reminder and escalations). Approve: the evaluation service
repairs the record (`repair_record`: record.repaired.v1, subject status; publication follows) and
the workflow ends. Reject: the applicant sees the reason and may apply again.

Decisions:
- This workflow is the authority on timing: an application the service let through is judged
  again on the workflow clock (same pure rules, workflows/repair/rules.py), and refused here if the
  window is not open (yet) or another application is under review.
- Expiry while an application is under review: the task is cancelled and the application ends
  `expired` — the record leaves publication by expiry anyway, and a repair decided after the
  record ceased to be in force would change nothing.
- A newer version of the record (signal `record_changed`) is judged again: withdrawn, corrected
  out of force, repaired otherwise, expired, or no longer repairable (e.g. corrected to a serious
  code under Luoyang) ends the repair — an open task is cancelled and its application ends
  `cancelled` with the reason; a correction that keeps it repairable (another general code, a new
  valid_until) only moves the window's end.
- A decision that arrives together with a cancellation is not applied: the record it was about
  no longer stands as it was."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.activity_names import CHANGE_APPLICATION, PUBLISH_REPAIR_WINDOW, REPAIR_RECORD

with workflow.unsafe.imports_passed_through():
    from services.common.temporal import EVALUATION_ACTIVITIES, REPAIR_ACTIVITIES
    from workflows.human_task.inputs import TaskCancel, TaskOutcome, TaskSpec, task_workflow_id
    from workflows.human_task.workflow import HumanTaskWorkflow
    from workflows.record_inputs import RecordChangeResult, RepairDecision
    from workflows.repair.inputs import (
        ApplicationChanged,
        ApplicationState,
        RecordChange,
        RepairApplication,
        RepairInput,
        RepairStatus,
        WindowChanged,
        WindowState,
        review_task_id,
    )
    from workflows.repair.rules import STATUS_REFUSALS, Refusal, Window, judge_timing, window_for

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# The record change must happen: retried (1 s doubling to 10 min) until the evaluation service answers.
CHANGE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10))


@workflow.defn
class RecordRepairWorkflow:
    @workflow.init
    def __init__(self, inp: RepairInput) -> None:
        self._record = inp.record
        self._terms = inp.terms
        self._inbox: list[RepairApplication] = []
        self._changes: list[RecordChange] = []
        self._handled: dict[str, str] = {}  # application id -> its last state
        self._state: WindowState = "waiting"
        self._reason = ""
        self._reviewing: str | None = None

    @workflow.run
    async def run(self, inp: RepairInput) -> RepairStatus:
        # The service stored the window as `waiting` when it ordered this start: bulk intake
        # starts thousands of these, so the first run does nothing but set its timer.
        while True:
            self._fold_changes()
            end = self._end_reason()
            if end:
                break
            if self._inbox:
                application = self._inbox.pop(0)
                if application.application_id in self._handled or await self._refuse(application):
                    continue  # a repeated signal, or refused on the workflow clock (e.g. too early)
                if self._state != "open":
                    await self._publish("open")
                if await self._review(application):
                    end = "repaired"
                    break
                continue
            window = self._window()
            now = workflow.now()
            assert window.opens_at is not None
            if now < window.opens_at:
                await self._wait_for_input(window.opens_at - now)
                continue
            if self._state != "open":
                await self._publish("open")
            await self._wait_for_input(window.closes_at - now)
        await self._refuse_inbox(Refusal("repair_closed", f"repair of this record is closed ({end})"))
        await self._publish("closed", reason=end)
        return self._status()

    # --- signals and query ---------------------------------------------------------------------------

    @workflow.signal
    def apply(self, application: RepairApplication) -> None:
        self._inbox.append(application)

    @workflow.signal
    def record_changed(self, change: RecordChange) -> None:
        self._changes.append(change)

    @workflow.query
    def get_status(self) -> RepairStatus:
        return self._status()

    # --- the record and its window -----------------------------------------------------------------

    def _fold_changes(self) -> None:
        while self._changes:
            change = self._changes.pop(0)
            if change.record.record_id == self._record.record_id and change.record.version > self._record.version:
                self._record = change.record

    def _window(self) -> Window:
        r = self._record
        return window_for(r.severity, r.recorded_on, r.valid_until, self._terms)

    def _end_reason(self) -> str:
        """Why the repair is over now ("" while it is not), from the record and the clock."""
        r = self._record
        if r.status != "in_force":
            return STATUS_REFUSALS.get(r.status, ("record_not_in_force", ""))[0]
        window = self._window()
        if not window.repairable:
            return "not_repairable"
        if workflow.now() >= window.closes_at:
            return "record_expired"
        return ""

    async def _wait_for_input(self, timeout: timedelta) -> None:
        if timeout <= timedelta(0):
            return
        try:
            await workflow.wait_condition(lambda: bool(self._inbox or self._changes), timeout=timeout)
        except TimeoutError:
            pass

    # --- applications ------------------------------------------------------------------------------

    async def _refuse(self, application: RepairApplication) -> bool:
        r = self._record
        refusal = judge_timing(
            status=r.status,
            severity=r.severity,
            recorded_on=r.recorded_on,
            valid_until=r.valid_until,
            terms=self._terms,
            now=workflow.now(),
        )
        if refusal is None:
            return False
        await self._change(application, "refused", code=refusal.code, reason=refusal.message)
        return True

    async def _refuse_inbox(self, refusal: Refusal) -> None:
        while self._inbox:
            application = self._inbox.pop(0)
            if application.application_id not in self._handled:
                await self._change(application, "refused", code=refusal.code, reason=refusal.message)

    async def _review(self, application: RepairApplication) -> bool:
        """Review one application; True when the record was repaired."""
        task_id = review_task_id(application.application_id)
        child = await workflow.start_child_workflow(
            HumanTaskWorkflow.run, self._task_spec(application, task_id), id=task_workflow_id(task_id)
        )
        self._reviewing = application.application_id
        await self._change(application, "under_review", task_id=task_id)
        cancelled: str | None = None
        while not child.done() and cancelled is None:
            timeout = self._window().closes_at - workflow.now()
            if timeout > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: child.done() or bool(self._inbox or self._changes), timeout=timeout
                    )
                except TimeoutError:
                    pass
            while self._inbox:
                other = self._inbox.pop(0)
                if other.application_id not in self._handled:
                    message = f"application {application.application_id} is under review"
                    await self._change(other, "refused", code="application_open", reason=message)
            self._fold_changes()
            cancelled = self._end_reason() or None
        if cancelled is not None and not child.done():
            await child.signal(HumanTaskWorkflow.cancel, TaskCancel(reason=cancelled))
        outcome: TaskOutcome = await child
        self._reviewing = None
        if cancelled is not None or outcome.decision is None:
            code = cancelled or "task_cancelled"
            state: ApplicationState = "expired" if code == "record_expired" else "cancelled"
            await self._change(application, state, code=code, reason=outcome.cancelled_reason or code)
            return False
        d = outcome.decision
        opinion = str(d.fields.get("opinion", ""))
        if d.decision != "approve":
            await self._change(application, "rejected", reason=d.reason, opinion=opinion, decided_by=d.decided_by)
            return False
        result: RecordChangeResult = await workflow.execute_activity(
            REPAIR_RECORD,
            RepairDecision(
                record_id=self._record.record_id,
                application_id=application.application_id,
                reason=d.reason,
                opinion=opinion,
                commitment=application.commitment,
                decided_by=d.decided_by,
                decided_at=d.decided_at,
            ),
            result_type=RecordChangeResult,
            task_queue=EVALUATION_ACTIVITIES,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=CHANGE_RETRY,
        )
        if result.applied or result.status == "repaired":
            await self._change(application, "approved", reason=d.reason, opinion=opinion, decided_by=d.decided_by)
            version = result.version or self._record.version
            self._record = self._record.model_copy(update={"status": "repaired", "version": version})
            return True
        # Approved, but the record had changed meanwhile (expired, withdrawn): nothing was repaired.
        code = STATUS_REFUSALS.get(result.status or "", ("record_not_in_force", ""))[0]
        await self._change(application, "cancelled", code=code, reason=result.note or code, decided_by=d.decided_by)
        return False

    def _task_spec(self, application: RepairApplication, task_id: str) -> TaskSpec:
        r, terms = self._record, self._terms
        return TaskSpec(
            task_id=task_id,
            kind="repair_review",
            region=r.region,
            title=f"信用修复复核 {r.subject.get('name', r.subject.get('id'))} {r.behaviour_code}",
            subject=r.subject,
            record_id=r.record_id,
            context={
                "application_id": application.application_id,
                "applicant": application.applicant,
                "commitment": application.commitment,
                "evidence": application.evidence,
                "submitted_at": application.submitted_at.isoformat(),
                "record": {
                    "behaviour_code": r.behaviour_code,
                    "severity": r.severity,
                    "recorded_on": r.recorded_on.isoformat(),
                    "valid_until": r.valid_until.isoformat(),
                    "version": r.version,
                },
            },
            due_working_days=terms.review_working_days,
            reminder_working_days_before=terms.reminder_working_days_before,
            escalation_working_days_after=list(terms.escalation_working_days_after),
            parent_workflow_id=workflow.info().workflow_id,
        )

    # --- activities --------------------------------------------------------------------------------

    async def _change(self, application: RepairApplication, state: ApplicationState, **fields: object) -> None:
        earliest = None
        if fields.get("code") == "too_early":
            earliest = self._window().opens_on
        await workflow.execute_activity(
            CHANGE_APPLICATION,
            ApplicationChanged(
                application_id=application.application_id,
                record_id=self._record.record_id,
                state=state,
                earliest=earliest,
                at=workflow.now(),
                **fields,  # type: ignore[arg-type]
            ),
            task_queue=REPAIR_ACTIVITIES,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        self._handled[application.application_id] = state

    async def _publish(self, state: WindowState, reason: str = "") -> None:
        window = self._window()
        await workflow.execute_activity(
            PUBLISH_REPAIR_WINDOW,
            WindowChanged(
                record=self._record,
                state=state,
                policy_version=self._terms.policy_version,
                opens_on=window.opens_on,
                closes_at=window.closes_at,
                reason=reason,
            ),
            task_queue=REPAIR_ACTIVITIES,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        self._state, self._reason = state, reason

    def _status(self) -> RepairStatus:
        window = self._window()
        return RepairStatus(
            state=self._state,
            record_version=self._record.version,
            opens_on=window.opens_on,
            closes_at=window.closes_at,
            reason=self._reason,
            application_id=self._reviewing,
            applications=dict(self._handled),
        )
