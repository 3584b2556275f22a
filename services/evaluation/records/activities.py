"""Temporal activities that change records on the decisions of review tasks (queue
`evaluation-activities`): the repair, appeal and determination workflows call them. Each is
idempotent on its business key; an invalid correction is a non-retryable business failure."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.relay import OutboxRelay
from services.evaluation.records import changes as rc
from services.evaluation.records.determinations import apply_determination, note_intended
from workflows.activity_names import (
    APPLY_DETERMINATION,
    CORRECT_RECORD,
    GET_RECORD_FACTS,
    MARK_APPEALED,
    NOTE_INTENDED_DETERMINATION,
    REPAIR_RECORD,
    UPHOLD_RECORD,
)
from workflows.record_inputs import (
    AppealMark,
    AppealResolution,
    DeterminationApplied,
    DeterminationIntended,
    RecordChangeResult,
    RecordFacts,
    RecordRef,
    RepairDecision,
)


class RecordChangeActivities:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self._relay = relay

    async def _change(self, record_id: str, change: str, actor: str, apply: rc.Change) -> RecordChangeResult:
        try:
            result = await rc.change_record(
                self._engine,
                record_id,
                change=change,
                event_type=rc.EVENTS[change],
                actor=actor,
                now=datetime.now(UTC),
                apply=apply,
            )
        except rc.InvalidCorrection as exc:
            raise ApplicationError(str(exc), type="InvalidCorrection", non_retryable=True) from exc
        self._wake(result)
        return result

    def _wake(self, result: RecordChangeResult) -> None:
        if result.applied and self._relay is not None:
            self._relay.wake()

    @activity.defn(name=GET_RECORD_FACTS)
    async def get_record_facts(self, inp: RecordRef) -> RecordFacts:
        facts = await rc.record_facts(self._engine, inp.record_id)
        if facts is None:
            raise ApplicationError(f"no record {inp.record_id}", type="RecordNotFound", non_retryable=True)
        return facts

    @activity.defn(name=REPAIR_RECORD)
    async def repair_record(self, inp: RepairDecision) -> RecordChangeResult:
        return await self._change(inp.record_id, "repaired", f"finance:{inp.decided_by}", rc.repair(inp))

    @activity.defn(name=MARK_APPEALED)
    async def mark_appealed(self, inp: AppealMark) -> RecordChangeResult:
        actor = f"{inp.applicant.get('type', 'subject')}:{inp.applicant.get('id', '')}"
        return await self._change(inp.record_id, "appealed", actor, rc.mark_appealed(inp))

    @activity.defn(name=UPHOLD_RECORD)
    async def uphold_record(self, inp: AppealResolution) -> RecordChangeResult:
        return await self._change(inp.record_id, "upheld", f"finance:{inp.decided_by}", rc.uphold(inp))

    @activity.defn(name=CORRECT_RECORD)
    async def correct_record(self, inp: AppealResolution) -> RecordChangeResult:
        return await self._change(inp.record_id, "corrected", f"finance:{inp.decided_by}", rc.correct(inp))

    @activity.defn(name=APPLY_DETERMINATION)
    async def apply_determination(self, inp: DeterminationApplied) -> RecordChangeResult:
        result = await apply_determination(self._engine, inp, now=datetime.now(UTC))
        self._wake(result)
        return result

    @activity.defn(name=NOTE_INTENDED_DETERMINATION)
    async def note_intended_determination(self, inp: DeterminationIntended) -> bool:
        return await note_intended(self._engine, inp)

    def all(self) -> list:
        return [
            self.get_record_facts,
            self.repair_record,
            self.mark_appealed,
            self.uphold_record,
            self.correct_record,
            self.apply_determination,
            self.note_intended_determination,
        ]
