"""Expiry of credit records (001 Art. 19), as one long-running sweep rather than a workflow per
record: intake takes 2,000+ records/s while the dev server starts ~170 timer workflows/s here
(bench/temporal_starts.py), so a workflow per record could never keep up, and would put Temporal
on the intake path.

The sweep asks the evaluation service to expire what is due on the workflow's legal date, learns
the next due date, and sleeps until that date's local midnight — at most `max_sleep_seconds`, so a
record recorded meanwhile with an earlier date is not missed by more than that."""

from datetime import timedelta

from temporalio import workflow

from workflows.activity_names import EXPIRE_DUE_RECORDS

with workflow.unsafe.imports_passed_through():
    from services.common.lawdates import expiry_moment, local_date
    from services.common.temporal import EVALUATION_ACTIVITIES
    from workflows.record_expiry.inputs import ExpireDueInput, ExpireDueResult, RecordExpiryInput

EXPIRY_WORKFLOW_ID = "record-expiry"


@workflow.defn
class RecordExpiryWorkflow:
    def __init__(self) -> None:
        self._expired_total = 0

    @workflow.run
    async def run(self, inp: RecordExpiryInput) -> None:
        for _ in range(inp.rounds_before_continue):
            now = workflow.now()
            result: ExpireDueResult = await workflow.execute_activity(
                EXPIRE_DUE_RECORDS,
                ExpireDueInput(as_of=local_date(now)),
                result_type=ExpireDueResult,
                task_queue=EVALUATION_ACTIVITIES,
                start_to_close_timeout=timedelta(minutes=10),
            )
            self._expired_total += result.expired
            wait = timedelta(seconds=inp.max_sleep_seconds)
            if result.next_due is not None:
                # In force through valid_until; expired from the next local midnight.
                wait = min(wait, max(expiry_moment(result.next_due) - now, timedelta(seconds=1)))
            await workflow.sleep(wait)
        # Keep the history short: a sweep runs for years.
        workflow.continue_as_new(inp)

    @workflow.query
    def get_expired_total(self) -> int:
        return self._expired_total
