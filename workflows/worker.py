"""The workflow worker: every workflow of the system on one task queue. Activities run in the
services that own the data (e.g. `evaluation-activities`). `python -m workflows.worker`."""

import asyncio

import structlog
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from services.common.lawdates import today
from services.common.logs import configure_logging
from services.common.policy import policy_for
from services.common.settings import Settings, get_settings
from services.common.temporal import WORKFLOW_QUEUE, connect
from workflows.annual_evaluation.workflow import AnnualEvaluationWorkflow
from workflows.annual_report.workflow import AnnualReportWorkflow
from workflows.appeal.workflow import AppealReviewWorkflow
from workflows.collusion_triage.workflow import CollusionTriageWorkflow
from workflows.deadline_clock.workflow import DeadlineClockWorkflow
from workflows.determination.workflow import DeterminationWorkflow
from workflows.expert_standing.workflow import ExpertStandingWorkflow
from workflows.human_task.workflow import HumanTaskWorkflow
from workflows.interception.workflow import InterceptionWorkflow
from workflows.ledger_checkpoints.inputs import LedgerCheckpointInput
from workflows.ledger_checkpoints.workflow import CHECKPOINT_WORKFLOW_ID, LedgerCheckpointWorkflow
from workflows.notices.workflow import PeriodicNoticeWorkflow
from workflows.pushes.workflow import PushWorkflow
from workflows.record_expiry.inputs import RecordExpiryInput
from workflows.record_expiry.workflow import EXPIRY_WORKFLOW_ID, RecordExpiryWorkflow
from workflows.repair.workflow import RecordRepairWorkflow

log = structlog.get_logger(__name__)
WORKFLOWS = [
    RecordRepairWorkflow,
    PeriodicNoticeWorkflow,
    PushWorkflow,
    RecordExpiryWorkflow,
    ExpertStandingWorkflow,
    LedgerCheckpointWorkflow,
    HumanTaskWorkflow,
    DeterminationWorkflow,
    AppealReviewWorkflow,
    AnnualReportWorkflow,
    DeadlineClockWorkflow,
    InterceptionWorkflow,
    CollusionTriageWorkflow,
    AnnualEvaluationWorkflow,
]


async def ensure_singletons(client: Client, settings: Settings) -> None:
    """Start the sweeps that always run; a second start finds the running one."""
    policy = policy_for(settings.credit_policy_region, today())
    await client.start_workflow(
        RecordExpiryWorkflow.run,
        RecordExpiryInput(
            max_sleep_seconds=settings.credit_expiry_max_sleep_seconds or policy.expiry_sweep_max_sleep_seconds
        ),
        id=EXPIRY_WORKFLOW_ID,
        task_queue=WORKFLOW_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    await client.start_workflow(
        LedgerCheckpointWorkflow.run,
        LedgerCheckpointInput(interval_seconds=settings.credit_ledger_checkpoint_seconds),
        id=CHECKPOINT_WORKFLOW_ID,
        task_queue=WORKFLOW_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.logs_json())
    while True:
        try:
            client = await connect(settings)
            break
        except RuntimeError as exc:
            log.warning("temporal not reachable yet", error=str(exc))
            await asyncio.sleep(2)
    await ensure_singletons(client, settings)
    log.info("workflow worker running", task_queue=WORKFLOW_QUEUE)
    await Worker(client, task_queue=WORKFLOW_QUEUE, workflows=WORKFLOWS).run()


if __name__ == "__main__":
    asyncio.run(main())
