"""The yearly run's activities (workflows/annual_evaluation.py), on queue `evaluations-activities`:
`draft_evaluations` scores a region's subjects of one kind for the year and keeps drafts;
`publish_evaluations` scores them again (the officer's adjustments count), marks them published and
writes `evaluation.published.v1` to the outbox in the same transaction. Publishing twice (a retried
activity) finds the results published and emits nothing more."""

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity

from services.common.cloudevents import build_event
from services.common.contracts.notices import EVALUATION_PUBLISHED
from services.common.messaging import OutboundEvent, write_outbox
from services.common.topics import NOTICES
from services.evaluations.evaluate import Evaluated, evaluate_agency, evaluate_purchaser, subjects_with_figures
from services.evaluations.models import MESSAGING, RESULTS
from services.evaluations.policy import assessment_policy_for, supervision_policy_for
from services.evaluations.scoring import MissingFigures
from services.evaluations.store import hold_publication, save_result
from workflows.activity_names import DRAFT_EVALUATIONS, PUBLISH_EVALUATIONS
from workflows.annual_evaluation.inputs import Drafted, DraftedResult, DraftRequest, PublishRequest

SOURCE = "urn:credit:evaluations"


async def evaluate_region(
    conn: AsyncConnection, req: DraftRequest
) -> tuple[str, dict[str, Evaluated], dict[str, list[str]]]:
    """The policy's name, each subject's evaluation, and the subjects lacking figures (with what lacks)."""
    results: dict[str, Evaluated] = {}
    missing: dict[str, list[str]] = {}
    if req.kind == "purchaser":
        purchaser_policy = assessment_policy_for(req.region)
        name = purchaser_policy.name
    else:
        agency_policy = supervision_policy_for(req.region)
        name = agency_policy.name
    for subject in await subjects_with_figures(conn, req.kind, req.region, req.period):
        try:
            if req.kind == "purchaser":
                results[subject] = await evaluate_purchaser(conn, purchaser_policy, subject, req.period)
            else:
                results[subject] = await evaluate_agency(conn, agency_policy, subject, req.period)
        except MissingFigures as error:
            missing[subject] = error.missing
    return name, results, missing


def _drafted(name: str, results: dict[str, Evaluated], missing: dict[str, list[str]]) -> Drafted:
    ranked = sorted(results.items(), key=lambda item: (-item[1].result.total, item[0]))
    return Drafted(
        policy=name,
        results=[
            DraftedResult(subject_id=s, total=e.result.total, grade=e.result.grade, interview=e.interview)
            for s, e in ranked
        ],
        missing=missing,
    )


async def _save_all(
    conn: AsyncConnection,
    req: DraftRequest | PublishRequest,
    name: str,
    results: dict[str, Evaluated],
    state: str,
    now: datetime,
) -> None:
    for subject, evaluated in results.items():
        await save_result(
            conn,
            kind=req.kind,
            subject_id=subject,
            period=req.period,
            region=req.region,
            policy=name,
            result=evaluated.result,
            lines=evaluated.lines,
            state=state,
            at=now,
        )


class EvaluationActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @activity.defn(name=DRAFT_EVALUATIONS)
    async def draft_evaluations(self, req: DraftRequest) -> Drafted:
        now = datetime.now().astimezone()
        async with self.engine.begin() as conn:
            name, results, missing = await evaluate_region(conn, req)
            await _save_all(conn, req, name, results, "draft", now)
        return _drafted(name, results, missing)

    @activity.defn(name=PUBLISH_EVALUATIONS)
    async def publish_evaluations(self, req: PublishRequest) -> Drafted:
        now = datetime.now().astimezone()
        async with self.engine.begin() as conn:
            await hold_publication(conn, req.kind, req.period)  # every entry committed before counts
            already = await _published(conn, req)
            if already is not None:
                return already
            draft = DraftRequest(kind=req.kind, region=req.region, period=req.period)
            name, results, missing = await evaluate_region(conn, draft)
            events = []
            await _save_all(conn, req, name, results, "published", now)
            for subject, evaluated in results.items():
                data = {
                    "kind": req.kind,
                    "subject_id": subject,
                    "region": req.region,
                    "period": req.period,
                    "policy": name,
                    "total": evaluated.result.total,
                    "grade": evaluated.result.grade,
                    "interview": evaluated.interview,
                    "lines": evaluated.lines,
                    "reviewed_by": req.reviewed_by,
                    "published_at": now.isoformat(),
                }
                event_id = f"evaluation:{req.kind}:{req.region}:{req.period}:{subject}"
                event = build_event(
                    type=EVALUATION_PUBLISHED.type,
                    source=SOURCE,
                    subject=subject,
                    id=event_id,
                    time=now,
                    data=EVALUATION_PUBLISHED.model.model_validate(data).model_dump(mode="json"),
                )
                events.append(OutboundEvent(topic=NOTICES, key=subject, event=event))
            await write_outbox(conn, MESSAGING.outbox, events)
        return _drafted(name, results, missing)

    def all(self) -> list:
        return [self.draft_evaluations, self.publish_evaluations]


async def _published(conn: AsyncConnection, req: PublishRequest) -> Drafted | None:
    q = select(RESULTS).where(
        RESULTS.c.subject_kind == req.kind,
        RESULTS.c.period == req.period,
        RESULTS.c.region == req.region,
        RESULTS.c.state == "published",
    )
    rows = (await conn.execute(q)).mappings().all()
    if not rows:
        return None
    ranked = sorted(rows, key=lambda r: (-r["score"], r["subject_id"]))
    return Drafted(
        policy=rows[0]["policy"],
        results=[
            DraftedResult(subject_id=r["subject_id"], total=r["score"], grade=r["grade"], interview=_interview(r))
            for r in ranked
        ],
    )


def _interview(row: Mapping) -> bool:
    if row["subject_kind"] != "purchaser":
        return False
    return row["score"] < assessment_policy_for(row["region"]).interview_below.value
