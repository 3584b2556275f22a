"""Interceptions (issue 13) on the time-skipping server: an `interception` task for the region's
finance department, decided `report_behaviour` (a report through the intake activity) or `dismiss`.
The watch's and casework's activities are fakes under their real names."""

import uuid
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.temporal import CASEWORK_ACTIVITIES, WATCH_ACTIVITIES
from tests.support.poll import eventually
from tests.support.procurement import XU_SUPPLIER
from tests.workflows.casework_fakes import FakeCasework
from tests.workflows.saved import save_history
from workflows.activity_names import REPORT_INTERCEPTED_BEHAVIOUR
from workflows.deadline_clock.inputs import InterceptionDecided, InterceptionInput, interception_workflow_id
from workflows.human_task.inputs import TaskDecision, task_workflow_id
from workflows.human_task.workflow import HumanTaskWorkflow
from workflows.interception.workflow import InterceptionWorkflow


class Fakes(FakeCasework):
    def __init__(self) -> None:
        super().__init__()
        self.reported: list[InterceptionDecided] = []

    @activity.defn(name=REPORT_INTERCEPTED_BEHAVIOUR)
    async def report(self, decided: InterceptionDecided) -> None:
        self.reported.append(decided)


def interception(now: datetime) -> InterceptionInput:
    iid = f"411000:XI-{uuid.uuid4().hex[:6]}:supplier_barred:{XU_SUPPLIER}"
    return InterceptionInput(
        interception_id=iid,
        region="411000",
        project={"code": iid.split(":")[1], "name": "某项目"},
        rule="supplier_barred",
        subject={"type": "supplier", "id": XU_SUPPLIER, "name": "某供应商有限公司"},
        detail="contract.signed: the supplier may not take part (until 2028-01-01)",
        basis="GET /v1/credit: may_participate false",
        at=now - timedelta(hours=1),
        task_due_working_days=5,
    )


async def run(env: WorkflowEnvironment, decision: str, **fields: object) -> tuple[Fakes, str, object]:
    fakes = Fakes()
    queue = f"wf-{uuid.uuid4()}"
    inp = interception(await env.get_current_time())
    async with (
        Worker(env.client, task_queue=queue, workflows=[InterceptionWorkflow, HumanTaskWorkflow]),
        Worker(env.client, task_queue=WATCH_ACTIVITIES, activities=[fakes.report]),
        Worker(
            env.client,
            task_queue=CASEWORK_ACTIVITIES,
            activities=fakes.activities(),
        ),
    ):
        handle = await env.client.start_workflow(
            InterceptionWorkflow.run, inp, id=interception_workflow_id(inp.interception_id), task_queue=queue
        )

        async def opened() -> int:
            return len(fakes.tasks)

        await eventually(opened, until=lambda n: n == 1, timeout=20)
        spec = fakes.tasks[0]
        await env.client.get_workflow_handle(task_workflow_id(spec.task_id)).signal(
            HumanTaskWorkflow.decide,
            TaskDecision(
                task_id=spec.task_id, decision=decision, reason="checked the platform's record", fields=dict(fields),
                decided_by="officer-1", decided_by_org="411000", decided_at=datetime.now(UTC),
            ),
        )  # fmt: skip
        result = await handle.result()
        return fakes, result, await handle.fetch_history()


async def test_an_interception_reported_goes_through_the_intake_activity(time_skipping: WorkflowEnvironment) -> None:
    fakes, result, history = await run(time_skipping, "report_behaviour", behaviour_code="SUP-S-18")
    (spec,) = fakes.tasks
    assert (spec.kind, spec.region, spec.subject["id"]) == ("interception", "411000", XU_SUPPLIER)
    assert spec.task_id.startswith("interception:411000:")
    assert result == "report_behaviour"
    assert [(r.behaviour_code, r.decided_by_org, r.subject["type"]) for r in fakes.reported] == [
        ("SUP-S-18", "411000", "supplier")
    ]
    save_history("interception_reported_v1", history)


async def test_an_interception_dismissed_reports_nothing(time_skipping: WorkflowEnvironment) -> None:
    fakes, result, history = await run(time_skipping, "dismiss")
    assert result == "dismiss" and fakes.reported == []
    save_history("interception_dismissed_v1", history)
