"""Credit repair on the time-skipping server: six months pass in milliseconds. The real
RecordRepairWorkflow and HumanTaskWorkflow run; the activities are fakes under their real names on
their real queues (casework, evaluation, repair)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.lawdates import SHANGHAI, add_months, expiry_moment, local_date, start_of_day
from services.common.policy import policy_for
from services.common.temporal import CASEWORK_ACTIVITIES, EVALUATION_ACTIVITIES, REPAIR_ACTIVITIES
from tests.workflows.saved import save_history
from workflows.activity_names import (
    CANCEL_TASK,
    CHANGE_APPLICATION,
    ESCALATE_TASK,
    OPEN_TASK,
    PUBLISH_REPAIR_WINDOW,
    REPAIR_RECORD,
)
from workflows.human_task.inputs import TaskAlarm, TaskAlarmFired, TaskClosed, TaskDecision, TaskPlan, TaskSpec
from workflows.human_task.workflow import HumanTaskWorkflow
from workflows.record_inputs import RecordChangeResult, RepairDecision
from workflows.repair.inputs import (
    ApplicationChanged,
    RecordChange,
    RepairApplication,
    RepairInput,
    RepairRecord,
    RepairStatus,
    WindowChanged,
    repair_workflow_id,
    review_task_id,
)
from workflows.repair.rules import terms_from
from workflows.repair.workflow import RecordRepairWorkflow

HISTORY_V1 = Path(__file__).parent / "histories" / "repair_v1.json"
LUOYANG = "410300"


class Fakes:
    """What the workflows ask of the casework, evaluation and repair services."""

    def __init__(self) -> None:
        self.windows: list[WindowChanged] = []
        self.changes: list[ApplicationChanged] = []
        self.tasks: list[TaskSpec] = []
        self.alarms: list[TaskAlarmFired] = []
        self.closed: list[TaskClosed] = []
        self.repairs: list[RepairDecision] = []

    @activity.defn(name=PUBLISH_REPAIR_WINDOW)
    async def publish_repair_window(self, change: WindowChanged) -> None:
        self.windows.append(change)

    @activity.defn(name=CHANGE_APPLICATION)
    async def change_application(self, change: ApplicationChanged) -> None:
        self.changes.append(change)

    @activity.defn(name=OPEN_TASK)
    async def open_task(self, spec: TaskSpec) -> TaskPlan:
        """A plan as the casework service makes it, in calendar days here (the calendar is its own
        test): due in `due_working_days`, a reminder the day before, escalations after."""
        self.tasks.append(spec)
        opened = local_date(activity.info().current_attempt_scheduled_time)
        due = opened + timedelta(days=spec.due_working_days)

        def at(day: date) -> datetime:
            return datetime.combine(day, time(9), tzinfo=SHANGHAI)

        alarms = [TaskAlarm(kind="reminder", level=0, at=at(due - timedelta(days=1)), to_region=spec.region)]
        alarms += [
            TaskAlarm(kind="escalation", level=i + 1, at=at(due + timedelta(days=1 + d)), to_region=spec.region)
            for i, d in enumerate(spec.escalation_working_days_after)
        ]
        return TaskPlan(task_id=spec.task_id, opened_on=opened, due_on=due, alarms=alarms)

    @activity.defn(name=ESCALATE_TASK)
    async def escalate_task(self, fired: TaskAlarmFired) -> None:
        self.alarms.append(fired)

    @activity.defn(name=CANCEL_TASK)
    async def cancel_task(self, closed: TaskClosed) -> None:
        self.closed.append(closed)

    @activity.defn(name=REPAIR_RECORD)
    async def repair_record(self, decision: RepairDecision) -> RecordChangeResult:
        self.repairs.append(decision)
        return RecordChangeResult(applied=True, record_id=decision.record_id, version=2, status="repaired")

    def states(self, application_id: str) -> list[str]:
        return [c.state for c in self.changes if c.application_id == application_id]


@asynccontextmanager
async def workers(env: WorkflowEnvironment, fakes: Fakes) -> AsyncIterator[str]:
    queue = f"wf-{uuid.uuid4()}"
    async with (
        Worker(env.client, task_queue=queue, workflows=[RecordRepairWorkflow, HumanTaskWorkflow]),
        Worker(
            env.client,
            task_queue=CASEWORK_ACTIVITIES,
            activities=[fakes.open_task, fakes.escalate_task, fakes.cancel_task],
        ),
        Worker(env.client, task_queue=EVALUATION_ACTIVITIES, activities=[fakes.repair_record]),
        Worker(
            env.client, task_queue=REPAIR_ACTIVITIES, activities=[fakes.publish_repair_window, fakes.change_application]
        ),
    ):
        yield queue


def a_record(recorded_on: date, **fields: object) -> RepairRecord:
    values: dict = {
        "record_id": f"rec-{uuid.uuid4()}",
        "version": 1,
        "status": "in_force",
        "severity": "general",
        "behaviour_code": "SUP-G-01",
        "subject": {"type": "supplier", "id": "91410300MA0000001X", "name": "洛阳某某科技有限公司"},
        "region": "410322",
        "recorded_on": recorded_on,
        "valid_until": add_months(recorded_on, 12),
    }
    return RepairRecord.model_validate(values | fields)


async def start(env: WorkflowEnvironment, queue: str, record: RepairRecord) -> WorkflowHandle:
    """As the repair service's dispatcher does when a repairable record is created."""
    terms = terms_from(policy_for(LUOYANG, record.recorded_on))
    return await env.client.start_workflow(
        RecordRepairWorkflow.run,
        RepairInput(record=record, terms=terms),
        id=repair_workflow_id(record.record_id),
        task_queue=queue,
    )


def application(record: RepairRecord, at: datetime) -> RepairApplication:
    return RepairApplication(
        application_id=f"rpa-{uuid.uuid4()}",
        record_id=record.record_id,
        applicant=record.subject,
        commitment="我单位承诺已整改到位，今后严格遵守政府采购法律法规。",
        evidence=[{"kind": "document", "uri": "https://evidence.example/rectification.pdf", "sha256": "0" * 64}],
        submitted_at=at,
    )


async def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait (real time, no skipping) until the workflows have handled what was just sent."""
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def apply(env: WorkflowEnvironment, handle: WorkflowHandle, record: RepairRecord) -> RepairApplication:
    app = application(record, await env.get_current_time())
    await handle.signal(RecordRepairWorkflow.apply, app)
    return app


async def decide(env: WorkflowEnvironment, app: RepairApplication, decision: str, reason: str, **fields: str) -> None:
    """As the casework service does once the officer completed the task."""
    task_id = review_task_id(app.application_id)
    await env.client.get_workflow_handle(f"task:{task_id}").signal(
        HumanTaskWorkflow.decide,
        TaskDecision(
            task_id=task_id,
            decision=decision,
            reason=reason,
            fields=fields,
            decided_by="officer-410322",
            decided_by_org="410322",
            decided_at=await env.get_current_time(),
        ),
    )


async def until_state(fakes: Fakes, app: RepairApplication, state: str) -> None:
    await eventually(lambda: state in fakes.states(app.application_id), f"{app.application_id} {state}")


# --- the six months ------------------------------------------------------------------------------


async def test_the_day_before_six_months_is_refused_the_day_of_accepted(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    t0 = await env.get_current_time()
    record = a_record(local_date(t0))
    opens_on = add_months(record.recorded_on, 6) + timedelta(days=1)  # 001 Art. 20: after the half-year
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record)
        status = await handle.query(RecordRepairWorkflow.get_status)
        assert (status.state, status.opens_on, status.closes_at) == (
            "waiting",
            opens_on,
            expiry_moment(record.valid_until),
        )
        assert fakes.windows == []  # the service stored `waiting` when it ordered the start
        # Noon of the day before the six months are over: too early, and told from when.
        await env.sleep(start_of_day(opens_on) - t0 - timedelta(hours=12))
        early = await apply(env, handle, record)
        await until_state(fakes, early, "refused")
        (refused,) = [c for c in fakes.changes if c.application_id == early.application_id]
        assert (refused.code, refused.earliest) == ("too_early", opens_on)
        assert fakes.tasks == []
        # Past midnight Asia/Shanghai: the window opened by itself and the subject was told.
        await env.sleep(timedelta(hours=12, minutes=1))
        await eventually(lambda: [w.state for w in fakes.windows] == ["open"], "opened")
        assert fakes.windows[0].opens_on == opens_on
        on_time = await apply(env, handle, record)
        await until_state(fakes, on_time, "under_review")
        (spec,) = fakes.tasks
        assert (spec.kind, spec.region, spec.record_id) == ("repair_review", "410322", record.record_id)
        assert spec.due_working_days == policy_for(LUOYANG, record.recorded_on).repair.review_working_days
        assert spec.context["commitment"] == on_time.commitment
        assert spec.context["evidence"] == on_time.evidence
        assert spec.parent_workflow_id == repair_workflow_id(record.record_id)
        # Approved: the evaluation service repairs the record, the application ends approved.
        await decide(env, on_time, "approve", "已整改到位", opinion="同意修复")
        status: RepairStatus = await handle.result()
        (repair,) = fakes.repairs
        assert (repair.record_id, repair.application_id, repair.reason, repair.opinion) == (
            record.record_id,
            on_time.application_id,
            "已整改到位",
            "同意修复",
        )
        assert repair.commitment == on_time.commitment
        assert fakes.states(on_time.application_id) == ["under_review", "approved"]
        assert (status.state, status.reason, status.record_version) == ("closed", "repaired", 2)
        assert [w.state for w in fakes.windows] == ["open", "closed"]
        history = await handle.fetch_history()
    save_history("repair_v1", history)


async def test_rejected_then_applied_again_and_approved(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    t0 = await env.get_current_time()
    record = a_record(local_date(t0))
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record)
        await env.sleep(start_of_day(add_months(record.recorded_on, 6) + timedelta(days=1)) - t0 + timedelta(days=3))
        first = await apply(env, handle, record)
        await until_state(fakes, first, "under_review")
        # A second application while the first is under review is refused by the workflow.
        twin = await apply(env, handle, record)
        await until_state(fakes, twin, "refused")
        assert [c.code for c in fakes.changes if c.application_id == twin.application_id] == ["application_open"]
        await decide(env, first, "reject", "整改材料不全", opinion="补充整改报告后再申请")
        await until_state(fakes, first, "rejected")
        rejected = [c for c in fakes.changes if c.state == "rejected"][0]
        assert (rejected.reason, rejected.opinion, rejected.decided_by) == (
            "整改材料不全",
            "补充整改报告后再申请",
            "officer-410322",
        )
        assert fakes.repairs == []
        # The applicant may apply again; this time it is approved.
        await env.sleep(timedelta(days=7))
        second = await apply(env, handle, record)
        await until_state(fakes, second, "under_review")
        await decide(env, second, "approve", "已整改到位")
        status = await handle.result()
        history = await handle.fetch_history()
        assert [r.application_id for r in fakes.repairs] == [second.application_id]
        assert status.applications == {
            first.application_id: "rejected",
            twin.application_id: "refused",
            second.application_id: "approved",
        }
    save_history("repair_rejected_then_approved_v1", history)


async def test_a_review_past_its_due_date_escalates(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    t0 = await env.get_current_time()
    record = a_record(local_date(t0))
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record)
        await env.sleep(start_of_day(add_months(record.recorded_on, 6) + timedelta(days=1)) - t0 + timedelta(hours=1))
        app = await apply(env, handle, record)
        await until_state(fakes, app, "under_review")
        # Twenty days without a decision: the reminder and both escalation levels fired.
        await env.sleep(timedelta(days=20))
        await eventually(lambda: len(fakes.alarms) == 3, "reminder and two escalations")
        assert [(a.alarm.kind, a.alarm.level) for a in fakes.alarms] == [
            ("reminder", 0),
            ("escalation", 1),
            ("escalation", 2),
        ]
        # The late decision still counts.
        await decide(env, app, "approve", "已整改到位")
        status = await handle.result()
        history = await handle.fetch_history()
        assert status.reason == "repaired" and len(fakes.repairs) == 1
    save_history("repair_escalated_v1", history)


async def test_expiry_while_an_application_is_open(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    t0 = await env.get_current_time()
    record = a_record(local_date(t0))
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record)
        # Applied three days before the record's year ends; nobody decides in time.
        await env.sleep(expiry_moment(record.valid_until) - t0 - timedelta(days=3))
        app = await apply(env, handle, record)
        await until_state(fakes, app, "under_review")
        status = await handle.result()
        history = await handle.fetch_history()
        assert [c.reason for c in fakes.closed] == ["record_expired"]
        expired = fakes.changes[-1]
        assert (expired.application_id, expired.state, expired.code) == (
            app.application_id,
            "expired",
            "record_expired",
        )
        assert fakes.repairs == []
        assert (status.state, status.reason) == ("closed", "record_expired")
    save_history("repair_expired_v1", history)


async def test_withdrawal_meanwhile_cancels_the_review(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    t0 = await env.get_current_time()
    record = a_record(local_date(t0))
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record)
        await env.sleep(start_of_day(add_months(record.recorded_on, 6) + timedelta(days=1)) - t0 + timedelta(days=1))
        app = await apply(env, handle, record)
        await until_state(fakes, app, "under_review")
        # The appeal withdrew the record (a correction without fields).
        withdrawn = record.model_copy(update={"version": 3, "status": "withdrawn"})
        await handle.signal(
            RecordRepairWorkflow.record_changed, RecordChange(record=withdrawn, change="record.corrected.v1")
        )
        status = await handle.result()
        history = await handle.fetch_history()
        assert [c.reason for c in fakes.closed] == ["record_withdrawn"]
        assert fakes.states(app.application_id) == ["under_review", "cancelled"]
        assert fakes.changes[-1].code == "record_withdrawn"
        assert (status.reason, status.record_version) == ("record_withdrawn", 3)
    save_history("repair_withdrawn_v1", history)


async def test_correction_to_a_serious_code_ends_a_waiting_repair(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    t0 = await env.get_current_time()
    record = a_record(local_date(t0))
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record)
        await env.sleep(timedelta(days=30))
        # Corrected on appeal to a serious code: Luoyang does not repair serious records.
        serious = record.model_copy(update={"version": 2, "severity": "serious", "behaviour_code": "SUP-S-03"})
        await handle.signal(
            RecordRepairWorkflow.record_changed, RecordChange(record=serious, change="record.corrected.v1")
        )
        status = await handle.result()
        assert (status.state, status.reason) == ("closed", "not_repairable")
        assert [w.state for w in fakes.windows] == ["closed"]


async def test_correction_that_keeps_it_repairable_moves_the_end(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    t0 = await env.get_current_time()
    record = a_record(local_date(t0))
    shorter = add_months(record.recorded_on, 8)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record)
        await env.sleep(timedelta(days=30))
        corrected = record.model_copy(update={"version": 2, "behaviour_code": "SUP-G-04", "valid_until": shorter})
        await handle.signal(
            RecordRepairWorkflow.record_changed, RecordChange(record=corrected, change="record.corrected.v1")
        )
        # The window still opens at six months and now closes with the corrected validity.
        status = await handle.result()
        assert [w.state for w in fakes.windows] == ["open", "closed"]
        assert (status.reason, status.closes_at) == ("record_expired", expiry_moment(shorter))


# --- replay --------------------------------------------------------------------------------------
