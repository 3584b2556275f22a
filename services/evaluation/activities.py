"""Temporal activities of the evaluation service: the I/O the record workflows orchestrate."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from services.common.relay import OutboxRelay
from services.evaluation.ledger.checkpoints import Signer, publish_checkpoint
from services.evaluation.records.expiry import expire_due, next_due
from workflows.activity_names import EXPIRE_DUE_RECORDS, PUBLISH_LEDGER_CHECKPOINT
from workflows.ledger_checkpoints.inputs import CheckpointResult
from workflows.record_expiry.inputs import ExpireDueInput, ExpireDueResult


class EvaluationActivities:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay | None = None, signer: Signer | None = None) -> None:
        self._engine = engine
        self._relay = relay
        self._signer = signer

    @activity.defn(name=EXPIRE_DUE_RECORDS)
    async def expire_due_records(self, inp: ExpireDueInput) -> ExpireDueResult:
        """Expire the records whose last day in force is before `as_of`. Idempotent: a retry finds
        them expired already."""
        expired = await expire_due(self._engine, as_of=inp.as_of, now=datetime.now(UTC))
        if expired and self._relay is not None:
            self._relay.wake()
        return ExpireDueResult(expired=expired, next_due=await next_due(self._engine))

    @activity.defn(name=PUBLISH_LEDGER_CHECKPOINT)
    async def publish_ledger_checkpoint(self) -> CheckpointResult:
        """Sign and publish a new head if the ledger grew. A retry after a stored checkpoint finds
        nothing new (the tree size is the checkpoint's key)."""
        assert self._signer is not None, "the evaluation service signs checkpoints with its key"
        view = await publish_checkpoint(self._engine, self._signer)
        if view and self._relay is not None:
            self._relay.wake()
        return CheckpointResult(tree_size=view["tree_size"] if view else None)
