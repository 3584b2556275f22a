"""Collusion triage (issue 14) on the time-skipping server: a `collusion_triage` task for the region's
finance department, decided `refer` (the chosen suppliers to the signals activity that files their
SUP-S-08 requests) or `dismiss` (nothing filed). Casework's and the signals' activities are fakes
under their real names."""

import uuid
from datetime import UTC, datetime

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.temporal import CASEWORK_ACTIVITIES, SIGNALS_ACTIVITIES
from tests.support.poll import eventually
from tests.workflows.casework_fakes import FakeCasework
from tests.workflows.saved import save_history
from workflows.activity_names import REFER_COLLUSION
from workflows.collusion_triage.inputs import CollusionReferred, CollusionTriageInput, collusion_workflow_id
from workflows.collusion_triage.workflow import CollusionTriageWorkflow
from workflows.human_task.inputs import TaskDecision, task_workflow_id
from workflows.human_task.workflow import HumanTaskWorkflow

SUPPLIERS = [{"type": "supplier", "id": f"91410300MA00000{n}XX"} for n in range(3)]
INDICATORS = [{"code": "same_machine", "basis": "洛阳 Art. 10(1)", "evidence": {"bids": ["b0", "b1", "b2"]}}]


class Fakes(FakeCasework):
    def __init__(self) -> None:
        super().__init__()
        self.referred: list[CollusionReferred] = []

    @activity.defn(name=REFER_COLLUSION)
    async def refer(self, referred: CollusionReferred) -> int:
        self.referred.append(referred)
        return len(referred.suppliers)


async def run(env: WorkflowEnvironment, decision: str, **fields: object) -> tuple[Fakes, str, object]:
    fakes = Fakes()
    queue = f"wf-{uuid.uuid4()}"
    inp = CollusionTriageInput(
        triage_id=f"collusion-{uuid.uuid4().hex}",
        region="410302",
        project={"code": "LYCG-1", "name": "办公设备采购项目"},
        suppliers=SUPPLIERS,
        indicators=INDICATORS,
        at=await env.get_current_time(),
        task_due_working_days=20,
    )
    async with (
        Worker(env.client, task_queue=queue, workflows=[CollusionTriageWorkflow, HumanTaskWorkflow]),
        Worker(env.client, task_queue=SIGNALS_ACTIVITIES, activities=[fakes.refer]),
        Worker(env.client, task_queue=CASEWORK_ACTIVITIES, activities=fakes.activities()),
    ):
        handle = await env.client.start_workflow(
            CollusionTriageWorkflow.run, inp, id=collusion_workflow_id(inp.triage_id), task_queue=queue
        )

        async def opened() -> int:
            return len(fakes.tasks)

        await eventually(opened, until=lambda n: n == 1, timeout=20)
        spec = fakes.tasks[0]
        await env.client.get_workflow_handle(task_workflow_id(spec.task_id)).signal(
            HumanTaskWorkflow.decide,
            TaskDecision(
                task_id=spec.task_id, decision=decision, reason="比对投标文件", fields=dict(fields),
                decided_by="officer-1", decided_by_org="410300", decided_at=datetime.now(UTC),
            ),
        )  # fmt: skip
        result = await handle.result()
        return fakes, result, await handle.fetch_history()


async def test_refer_sends_the_chosen_suppliers_with_the_indicators(time_skipping: WorkflowEnvironment) -> None:
    chosen = [SUPPLIERS[0]["id"], SUPPLIERS[2]["id"]]
    fakes, result, history = await run(time_skipping, "refer", suppliers=chosen)
    (spec,) = fakes.tasks
    assert (spec.kind, spec.region, spec.context["indicators"]) == ("collusion_triage", "410302", INDICATORS)
    assert result == "refer"
    (referred,) = fakes.referred
    assert [s["id"] for s in referred.suppliers] == chosen
    assert (referred.indicators, referred.decided_by_org, referred.reason) == (INDICATORS, "410300", "比对投标文件")
    save_history("collusion_triage_referred_v1", history)


async def test_dismiss_files_nothing(time_skipping: WorkflowEnvironment) -> None:
    fakes, result, history = await run(time_skipping, "dismiss")
    assert result == "dismiss" and fakes.referred == []
    save_history("collusion_triage_dismissed_v1", history)
