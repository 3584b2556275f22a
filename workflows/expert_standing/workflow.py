"""Whether a review expert may be drawn (001 Art. 25, 000 §三.3): one long-running workflow per
expert, id `expert:{expert_id}`, started by signal-with-start when the first record about the
expert arrives.

Reasons an expert is not drawable, each with its own end; overlapping reasons extend and never
shorten a suspension, and the expert is reinstated only when every reason has lapsed:
- general_record: not drawn through recorded_on + suspension_months (Civil Code counting, legal
  dates in Asia/Shanghai), drawable again from the next local midnight; the employer is notified.
- serious_record: removed from the pool. Final: only a correction or a withdrawal of that record
  lifts it — expiry or repair of a serious record does not.
- low_score: only where the region's policy sets a score regime (000 §三.3 is the Shenyang draft;
  Luoyang applies Art. 25 only and sets none): the score starts at `score.start`, each general
  record in force deducts `score.deductions[code]` (no default points; a record no longer in force
  gives its points back); under `score.threshold` the expert is suspended until training, which
  restores the score to `score.training_restores_to`. Runs begun before issue 16 point 8 keep the
  regime of their input (score_start, default_deduction …; deductions of ended records stand),
  behind workflow.patched("score-regime-from-policy").

Decisions:
- Training lifts the low-score suspension by raising the score to the threshold, not to
  score_start: training proves the expert relearnt the rules, it does not wipe out the
  behaviours. An expert who just made it back stays on probation — the next deduction suspends
  again. Training completed while the score is not under the threshold changes nothing (it is
  not banked for later).
- corrected / withdrawn: the record was wrong, so it counts for nothing — its suspension ends at
  once and its deduction is given back (capped at score_start, since training may already have
  restored points). A correction that keeps the record alive with another code/severity is a new
  version of it: the old deduction is given back and the new one taken.
- repaired: the behaviour was put right, the record was not wrong — the suspension ends at once,
  the deduction stays (it happened).
- expired: changes nothing here; the suspension lapses on its own timer.
- Every new standing version is stored by `publish_expert_standing` (finance and the expert see the
  score and reasons); the expert pool hears expert.suspended.v1 / .removed.v1 / .reinstated.v1
  when the public status changes or the end of a suspension moves (extended, shortened by a
  correction, or turned into "until training").
- The employer is notified once per record version that starts a general suspension still
  running (a new general record, or a correction that changes its code or date).

Signals are queued by the handlers and applied in order by `run`, the one place that changes
state, so that a later change can be put behind `workflow.patched()` in one place."""

from dataclasses import dataclass
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.activity_names import NOTIFY_EMPLOYER, PUBLISH_EXPERT_STANDING

with workflow.unsafe.imports_passed_through():
    from services.common.lawdates import add_months, expiry_moment, local_date
    from services.common.temporal import EVALUATION_ACTIVITIES
    from workflows.expert_standing.inputs import (
        EmployerNotice,
        ExpertEvent,
        ExpertRecordChange,
        ExpertStanding,
        ExpertStandingInput,
        ExpertState,
        PublicStatus,
        Reason,
        RecordState,
        ScoreEntry,
        StandingChanged,
        TrainingCompleted,
    )

EVENTS: dict[PublicStatus, ExpertEvent] = {
    "drawable": "expert.reinstated.v1",
    "suspended": "expert.suspended.v1",
    "removed": "expert.removed.v1",
}
SUSPENDS = frozenset({"in_force", "expired"})  # a general record's suspension runs on its timer
COUNTS = frozenset({"in_force", "expired", "repaired"})  # serious: removes; general: deducts
# The employer must hear of it eventually: retry until it succeeds, for up to 30 days.
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(hours=1)
)


# Issue 16 point 8: the score regime comes from the policy (none for Luoyang: Art. 25 only) and a
# record no longer in force no longer deducts. Runs begun before keep their input's regime.
SCORE_FROM_POLICY = "score-regime-from-policy"


@dataclass(frozen=True)
class Scoring:
    start: int
    threshold: int
    deductions: dict[str, int]
    default: int
    restores_to: int | None
    counts: frozenset[str]  # record statuses whose deduction stands


def legacy_scoring(inp: ExpertStandingInput) -> Scoring | None:
    """The regime of an input from before point 8 (score fields with a default deduction)."""
    if inp.score_start is None or inp.score_threshold is None:
        return None
    return Scoring(
        inp.score_start, inp.score_threshold, inp.deductions, inp.default_deduction or 0, inp.score_threshold, COUNTS
    )


def policy_scoring(inp: ExpertStandingInput) -> Scoring | None:
    s = inp.score
    if s is None:
        return None
    return Scoring(s.start, s.threshold, s.deductions, 0, s.training_restores_to, frozenset({"in_force"}))


def expert_workflow_id(expert_id: str) -> str:
    return f"expert:{expert_id}"


def reasons_on(
    state: ExpertState, inp: ExpertStandingInput, today: date, scoring: Scoring | None = None
) -> list[Reason]:
    reasons = []
    for r in state.records.values():
        if r.severity == "serious" and r.status in COUNTS:
            reasons.append(Reason(kind="serious_record", record_id=r.record_id))
        elif r.severity == "general" and r.status in SUSPENDS:
            until = add_months(r.recorded_on, inp.suspension_months)
            if until >= today:
                reasons.append(Reason(kind="general_record", record_id=r.record_id, until=until))
    if scoring is not None and state.score < scoring.threshold:
        reasons.append(Reason(kind="low_score"))
    return reasons


def standing_on(
    state: ExpertState, inp: ExpertStandingInput, today: date, scoring: Scoring | None = None
) -> ExpertStanding:
    reasons = reasons_on(state, inp, today, scoring)
    kinds = {r.kind for r in reasons}
    status: PublicStatus = "removed" if "serious_record" in kinds else "suspended" if reasons else "drawable"
    until = None
    if status == "suspended" and "low_score" not in kinds:
        until = max(r.until for r in reasons if r.until is not None)
    return ExpertStanding(
        expert_id=inp.expert_id,
        status=status,
        suspended_until=until,
        reasons=reasons,
        score=state.score if scoring is not None else None,
        score_history=list(state.score_history),
        version=state.standing_version,
    )


@workflow.defn
class ExpertStandingWorkflow:
    @workflow.init
    def __init__(self, inp: ExpertStandingInput) -> None:
        self._inp = inp
        # Until run() asks workflow.patched: an input with the old fields is an old run's.
        self._scoring = legacy_scoring(inp) if inp.score_start is not None else policy_scoring(inp)
        start = self._scoring.start if self._scoring else 0
        self._state = inp.state or ExpertState(score=start)
        self._inbox: list[ExpertRecordChange | TrainingCompleted] = []
        self._signals = 0
        self._notices: list[workflow.ActivityHandle[None]] = []
        self._standing = standing_on(self._state, inp, self._today(), self._scoring)

    @workflow.run
    async def run(self, inp: ExpertStandingInput) -> None:
        if workflow.patched(SCORE_FROM_POLICY):
            self._scoring = policy_scoring(inp)
            if self._scoring is not None and inp.state is None:
                self._state.score = self._scoring.start
        else:
            self._scoring = legacy_scoring(inp)
        # After continue-as-new a suspension may have lapsed while the new run was being started.
        await self._settle("continued" if inp.state else "started")
        while True:
            if not self._inbox and not self._may_continue():
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._inbox) or self._may_continue(), timeout=self._until_next_lapse()
                    )
                except TimeoutError:
                    await self._settle("suspension lapsed")
            while self._inbox:
                cause = self._apply(self._inbox.pop(0))
                if cause is not None:
                    await self._settle(cause)
            if self._may_continue():
                # Keep the history short: an expert's workflow lives as long as the expert.
                workflow.continue_as_new(self._inp.model_copy(update={"state": self._state}))

    @workflow.signal
    def record_changed(self, change: ExpertRecordChange) -> None:
        self._signals += 1
        self._inbox.append(change)

    @workflow.signal
    def training_completed(self, training: TrainingCompleted) -> None:
        self._signals += 1
        self._inbox.append(training)

    @workflow.query
    def get_standing(self) -> ExpertStanding:
        return self._standing

    # --- state changes -----------------------------------------------------------------------------

    def _apply(self, item: ExpertRecordChange | TrainingCompleted) -> str | None:
        """Apply one signal; the cause if anything changed, None for a repeat."""
        if isinstance(item, TrainingCompleted):
            return self._apply_training(item)
        return self._apply_record(item)

    def _apply_record(self, change: ExpertRecordChange) -> str | None:
        prior = self._state.records.get(change.record_id)
        if prior is not None and change.version <= prior.version:
            return None
        code, status = change.behaviour_code, change.status
        if status == "corrected" and change.behaviour_code_after:
            code, status = change.behaviour_code_after, "in_force"
        record = RecordState(
            record_id=change.record_id,
            version=change.version,
            severity=change.severity,
            behaviour_code=code,
            recorded_on=change.recorded_on,
            status=status,
        )
        if self._scoring is not None and record.severity == "general" and record.status in self._scoring.counts:
            # A points table changed meanwhile does not re-price a behaviour already deducted.
            if prior is not None and prior.deducted and prior.behaviour_code == code:
                record.deducted = prior.deducted
            else:
                record.deducted = self._deduction(code)
        self._state.records[record.record_id] = record
        cause = f"record {record.record_id} v{record.version}: {record.severity} {code} {status}"
        given_back = (prior.deducted if prior else 0) - record.deducted
        if given_back:
            self._change_score(given_back, cause)
        if self._starts_general_suspension(prior, record):
            self._notify_employer(record)
        return cause

    def _apply_training(self, training: TrainingCompleted) -> str | None:
        if training.event_id in self._state.trainings:
            return None
        self._state.trainings.append(training.event_id)
        scoring = self._scoring
        if scoring is None or scoring.restores_to is None or self._state.score >= scoring.threshold:
            return None
        cause = f"training {training.event_id} ({training.course}) completed on {training.completed_on}"
        self._change_score(max(scoring.restores_to - self._state.score, 0), cause)
        return cause

    def _deduction(self, code: str) -> int:
        assert self._scoring is not None
        return self._scoring.deductions.get(code, self._scoring.default)

    def _change_score(self, change: int, cause: str) -> None:
        if self._scoring is None:
            return  # no regime (a legacy deduction given back after the regime was dropped): no score
        score = self._state.score + change
        if change > 0:
            score = min(score, max(self._scoring.start, self._state.score))
        if score != self._state.score:
            entry = ScoreEntry(at=self._today(), change=score - self._state.score, score=score, cause=cause)
            self._state.score_history.append(entry)
            self._state.score = score

    def _starts_general_suspension(self, prior: RecordState | None, record: RecordState) -> bool:
        if record.severity != "general" or record.status != "in_force":
            return False
        if add_months(record.recorded_on, self._inp.suspension_months) < self._today():
            return False  # reported late: the year is already over
        if prior is None or prior.severity != "general" or prior.status not in SUSPENDS:
            return True
        # Already told of this suspension, unless a correction changed what the employer was told.
        return (prior.behaviour_code, prior.recorded_on) != (record.behaviour_code, record.recorded_on)

    # --- effects -----------------------------------------------------------------------------------

    def _notify_employer(self, record: RecordState) -> None:
        notice = EmployerNotice(
            expert_id=self._inp.expert_id,
            expert_name=self._inp.expert_name,
            record_id=record.record_id,
            behaviour_code=record.behaviour_code,
            recorded_on=record.recorded_on,
            suspended_until=add_months(record.recorded_on, self._inp.suspension_months),
            idempotency_key=f"{self._inp.expert_id}:{record.record_id}:v{record.version}",
        )
        # Not awaited: a notice retried for hours must not hold up the next signal.
        handle = workflow.start_activity(
            NOTIFY_EMPLOYER,
            notice,
            task_queue=EVALUATION_ACTIVITIES,
            schedule_to_close_timeout=timedelta(days=30),
            retry_policy=NOTIFY_RETRY,
        )
        handle.add_done_callback(_log_failed_notice)
        self._notices.append(handle)

    async def _settle(self, cause: str) -> None:
        """Recompute the standing on today's legal date and tell the expert pool what it must know."""
        standing = standing_on(self._state, self._inp, self._today(), self._scoring)
        if standing.model_dump(exclude={"version"}) == self._standing.model_dump(exclude={"version"}):
            return
        self._state.standing_version += 1
        standing.version = self._state.standing_version
        self._standing = standing
        event = self._event_for(standing)
        # Every new version is stored (score and reasons are shown to finance and the expert); an
        # event goes out only for what the pool acts on. Awaited, so they arrive in order.
        await workflow.execute_activity(
            PUBLISH_EXPERT_STANDING,
            StandingChanged(
                expert_id=self._inp.expert_id,
                expert_name=self._inp.expert_name,
                region=self._inp.region,
                event=event,
                standing=standing,
                cause=cause,
            ),
            task_queue=EVALUATION_ACTIVITIES,
            start_to_close_timeout=timedelta(minutes=1),
        )
        if event is not None:
            self._state.published_status = standing.status
            self._state.published_until = standing.suspended_until

    def _event_for(self, standing: ExpertStanding) -> ExpertEvent | None:
        published_status, published_until = self._state.published_status, self._state.published_until
        if standing.status != published_status:
            return EVENTS[standing.status]
        # Extended, shortened (a correction) or turned into "until training": the pool needs the date.
        moved = standing.suspended_until != published_until
        return "expert.suspended.v1" if standing.status == "suspended" and moved else None

    # --- time --------------------------------------------------------------------------------------

    def _today(self) -> date:
        return local_date(workflow.now())

    def _until_next_lapse(self) -> timedelta | None:
        ends = [r.until for r in self._standing.reasons if r.until is not None]
        if not ends:
            return None
        # Not drawable through `until`; the reason lapses at the next local midnight.
        return max(expiry_moment(min(ends)) - workflow.now(), timedelta(seconds=1))

    def _may_continue(self) -> bool:
        return (
            self._signals >= self._inp.rounds_before_continue
            and not self._inbox
            and all(h.done() for h in self._notices)
        )


def _log_failed_notice(handle: workflow.ActivityHandle[None]) -> None:
    # Retrieve the outcome so a notice given up after 30 days is logged, not left unobserved.
    if not handle.cancelled() and handle.exception() is not None:
        workflow.logger.warning("employer notice given up", exc_info=handle.exception())
