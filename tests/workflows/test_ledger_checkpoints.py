"""Signed ledger checkpoints on a schedule (workflows/ledger_checkpoints/) on the time-skipping
server; the evaluation service's activity is a fake under its real name on EVALUATION_ACTIVITIES."""

import uuid
from datetime import timedelta

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.temporal import EVALUATION_ACTIVITIES
from tests.workflows.saved import save_history
from tests.workflows.test_expert_standing import eventually
from workflows.activity_names import PUBLISH_LEDGER_CHECKPOINT
from workflows.ledger_checkpoints.inputs import CheckpointResult, LedgerCheckpointInput
from workflows.ledger_checkpoints.workflow import LedgerCheckpointWorkflow


class FakeLedger:
    """Answers each round with the next of `sizes` (None: nothing appended since the last one)."""

    def __init__(self, sizes: list[int | None]) -> None:
        self.sizes = sizes
        self.calls = 0

    @activity.defn(name=PUBLISH_LEDGER_CHECKPOINT)
    async def publish(self) -> CheckpointResult:
        size = self.sizes[min(self.calls, len(self.sizes) - 1)]
        self.calls += 1
        return CheckpointResult(tree_size=size)


async def test_a_checkpoint_every_interval_then_continue_as_new(time_skipping: WorkflowEnvironment) -> None:
    env = time_skipping
    ledger = FakeLedger([3, None, 5, None])
    queue = f"wf-{uuid.uuid4()}"
    async with (
        Worker(env.client, task_queue=queue, workflows=[LedgerCheckpointWorkflow]),
        Worker(env.client, task_queue=EVALUATION_ACTIVITIES, activities=[ledger.publish]),
    ):
        handle = await env.client.start_workflow(
            LedgerCheckpointWorkflow.run,
            LedgerCheckpointInput(interval_seconds=600, rounds_before_continue=3),
            id=f"ledger-checkpoints-{uuid.uuid4()}",
            task_queue=queue,
        )
        first_run = (await handle.describe()).run_id

        async def calls(n: int) -> bool:
            return ledger.calls >= n

        # Round 1 at once: the tree had 3 leaves.
        await eventually(lambda: calls(1), "the first checkpoint")
        assert await handle.query(LedgerCheckpointWorkflow.get_last_size) == 3
        # Ten minutes on, round 2: nothing appended, so the last size stays (no empty checkpoint).
        await env.sleep(timedelta(minutes=10, seconds=1))
        await eventually(lambda: calls(2), "the second round")
        assert await handle.query(LedgerCheckpointWorkflow.get_last_size) == 3
        assert ledger.calls == 2  # the interval is waited: no round early
        await env.sleep(timedelta(minutes=10))
        await eventually(lambda: calls(3), "the third round")
        assert await handle.query(LedgerCheckpointWorkflow.get_last_size) == 5
        # After 3 rounds the run continues as new (history stays small); the next run goes on.
        await env.sleep(timedelta(minutes=10))
        await eventually(lambda: calls(4), "the first round of the next run")

        async def continued() -> bool:
            return (await handle.describe()).run_id != first_run

        await eventually(continued, "a second run")
        history = await env.client.get_workflow_handle(handle.id, run_id=first_run).fetch_history()
        await handle.terminate("test done")
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    save_history("ledger_checkpoints_v1", history)
