"""Signed ledger checkpoints on a schedule (002 (十二)): every `interval_seconds` the evaluation
service extends the Merkle tree by what was appended and signs the new head, which goes out on
credit.notices — so copies of every head exist outside the database."""

from datetime import timedelta

from temporalio import workflow

from workflows.activity_names import PUBLISH_LEDGER_CHECKPOINT

with workflow.unsafe.imports_passed_through():
    from services.common.temporal import EVALUATION_ACTIVITIES
    from workflows.ledger_checkpoints.inputs import CheckpointResult, LedgerCheckpointInput

CHECKPOINT_WORKFLOW_ID = "ledger-checkpoints"


@workflow.defn
class LedgerCheckpointWorkflow:
    def __init__(self) -> None:
        self._last_size: int | None = None

    @workflow.run
    async def run(self, inp: LedgerCheckpointInput) -> None:
        for _ in range(inp.rounds_before_continue):
            result: CheckpointResult = await workflow.execute_activity(
                PUBLISH_LEDGER_CHECKPOINT,
                result_type=CheckpointResult,
                task_queue=EVALUATION_ACTIVITIES,
                start_to_close_timeout=timedelta(minutes=10),
            )
            if result.tree_size is not None:
                self._last_size = result.tree_size
            await workflow.sleep(timedelta(seconds=inp.interval_seconds))
        workflow.continue_as_new(inp)

    @workflow.query
    def get_last_size(self) -> int | None:
        return self._last_size
