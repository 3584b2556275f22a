"""The yearly evaluation run (issue 15) on the time-skipping server with the evaluations service's
real activities on SQLite and casework's activities faked under their real names, as is the
figures' collection (it reads the watch over HTTP: tests/unit/test_evaluations_collect.py; the
year's figures are loaded here instead, and the fake records each round's call): drafts, the
officer's review task, publication on the outbox (`evaluation.published.v1`), and a
`supervision_interview` task for the purchaser below the threshold. The Schedule itself cannot run
here (the time-skipping server has no CreateSchedule, see tests/workflows/test_notices.py): runs are
started as it starts them."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.db import create_tables, make_engine
from services.common.temporal import CASEWORK_ACTIVITIES, EVALUATIONS_ACTIVITIES
from services.evaluations.activities import EvaluationActivities
from services.evaluations.models import MESSAGING, RESULTS, TABLES
from services.evaluations.scoring import OfficerEntry
from services.evaluations.store import add_entry
from tests.support.evaluations_year import AGENCIES, AVERAGE, GOOD, PERIOD, POOR, PURCHASERS, load_year
from tests.support.poll import eventually
from tests.workflows.casework_fakes import FakeCasework
from tests.workflows.saved import save_history
from workflows.activity_names import COLLECT_FIGURES
from workflows.annual_evaluation.inputs import (
    Collected,
    DraftRequest,
    EvaluationRunInput,
    EvaluationRunResult,
    run_workflow_id,
)
from workflows.annual_evaluation.workflow import AnnualEvaluationWorkflow
from workflows.human_task.inputs import TaskDecision, task_workflow_id
from workflows.human_task.workflow import HumanTaskWorkflow


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'evaluations.db'}")
    await create_tables(eng, TABLES)
    async with eng.begin() as conn:
        await load_year(conn)
    try:
        yield eng
    finally:
        await eng.dispose()


class FakeCollection:
    def __init__(self) -> None:
        self.calls: list[DraftRequest] = []

    @activity.defn(name=COLLECT_FIGURES)
    async def collect_figures(self, req: DraftRequest) -> Collected:
        self.calls.append(req)
        return Collected(subjects=[], watch_ref="fake", records_on=date(2026, 12, 31), replica_as_of=None)


async def decide(env: WorkflowEnvironment, task_id: str, decision: str, org: str) -> None:
    await env.client.get_workflow_handle(task_workflow_id(task_id)).signal(
        HumanTaskWorkflow.decide,
        TaskDecision(
            task_id=task_id,
            decision=decision,
            reason="reviewed",
            fields={},
            decided_by="reviewer-7",
            decided_by_org=org,
            decided_at=datetime.now(UTC),
        ),
    )


async def run(
    env: WorkflowEnvironment, engine: AsyncEngine, kind: str, region: str, decisions: list[str]
) -> tuple[FakeCasework, EvaluationRunResult, WorkflowHandle, FakeCollection]:
    fakes = FakeCasework()
    collection = FakeCollection()
    queue = f"wf-{uuid.uuid4()}"
    inp = EvaluationRunInput(
        kind=kind,
        region=region,
        period=PERIOD,
        review_due_working_days=10,  # type: ignore[arg-type]
        interview_due_working_days=20,
    )
    async with (
        Worker(env.client, task_queue=queue, workflows=[AnnualEvaluationWorkflow, HumanTaskWorkflow]),
        Worker(
            env.client,
            task_queue=EVALUATIONS_ACTIVITIES,
            activities=[*EvaluationActivities(engine).all(), collection.collect_figures],
        ),
        Worker(env.client, task_queue=CASEWORK_ACTIVITIES, activities=fakes.activities()),
    ):
        handle = await env.client.start_workflow(
            AnnualEvaluationWorkflow.run,
            inp,
            id=f"{run_workflow_id(kind, region, PERIOD)}:{uuid.uuid4().hex[:6]}",
            task_queue=queue,
        )
        for n, decision in enumerate(decisions, start=1):

            async def reviews() -> int:
                return sum(1 for t in fakes.tasks if t.kind == "evaluation_review")

            await eventually(reviews, until=lambda count: count == n, timeout=20)  # noqa: B023
            review = [t for t in fakes.tasks if t.kind == "evaluation_review"][-1]
            if n == 1 and kind == "purchaser":
                # While reviewing, the officer adjusts the average purchaser, with a reason.
                async with engine.begin() as conn:
                    await add_entry(
                        conn,
                        kind="purchaser",
                        subject_id=AVERAGE,
                        period=PERIOD,
                        region="210102",
                        indicator="adjustment",
                        entry=OfficerEntry(2, "一项逾期系系统故障所致", "reviewer-7"),
                        at=datetime.now(UTC),
                    )
            await decide(env, review.task_id, decision, region)
        result = await handle.result()

        # The interview tasks outlive the run (ABANDON) and wait on this test's own queue: ended
        # here, or their pending workflow tasks hold the shared server's time skipping for the
        # tests after this one.
        async def interviews() -> int:
            return sum(1 for t in fakes.tasks if t.kind == "supervision_interview")

        await eventually(interviews, until=lambda n: n == len(result.interview_task_ids), timeout=20)
        for interview in result.interview_task_ids:
            await env.client.get_workflow_handle(task_workflow_id(interview)).terminate("test over")
    return fakes, result, handle, collection


async def events(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(MESSAGING.outbox.c.payload).order_by(MESSAGING.outbox.c.seq))).all()
    return [orjson.loads(r[0]) for r in rows]


async def test_purchasers_drafted_reviewed_published_and_the_poor_one_interviewed(
    time_skipping: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    fakes, result, handle, collection = await run(time_skipping, engine, "purchaser", "210100", ["publish"])
    # The figures were collected for the year before the draft (patch `collect-figures`).
    assert collection.calls == [DraftRequest(kind="purchaser", region="210100", period=PERIOD)]
    review = fakes.tasks[0]
    assert review.kind == "evaluation_review" and review.region == "210100"
    # The drafts the officer reviewed: ranked, before the adjustment.
    assert [(d["subject_id"], d["total"]) for d in review.context["drafts"]] == [
        (GOOD, 98),
        (AVERAGE, 74),
        (POOR, 27.5),
    ]
    assert result.state == "published"
    assert [(r.subject_id, r.total, r.grade) for r in result.published] == [
        (GOOD, 98, "优秀"),
        (AVERAGE, 76, "良好"),
        (POOR, 27.5, PURCHASERS[POOR][5]),
    ]
    (interview,) = [t for t in fakes.tasks if t.kind == "supervision_interview"]
    assert interview.subject["id"] == POOR and result.interview_task_ids == [interview.task_id]
    published = await events(engine)
    assert [e["type"].rsplit(".", 2)[-2] for e in published] == ["published"] * 3
    average = next(e for e in published if e["data"]["subject_id"] == AVERAGE)["data"]
    assert average["lines"][-1]["reason"] == "一项逾期系系统故障所致" and average["reviewed_by"] == "reviewer-7"
    async with engine.connect() as conn:
        states = {r.subject_id: r.state for r in (await conn.execute(select(RESULTS))).all()}
    assert states == {GOOD: "published", AVERAGE: "published", POOR: "published"}
    save_history("annual_evaluation_published_v2", await handle.fetch_history())


async def test_agencies_redrafted_once_then_published_without_interviews(
    time_skipping: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    fakes, result, handle, collection = await run(time_skipping, engine, "agency", "411000", ["redraft", "publish"])
    assert len(collection.calls) == 2  # collected again for the redraft
    assert result.state == "published" and result.rounds == 2
    assert [(r.subject_id, r.total, r.grade) for r in result.published] == sorted(
        ((s, v[3], v[4]) for s, v in AGENCIES.items()), key=lambda t: -t[1]
    )
    assert [t.kind for t in fakes.tasks] == ["evaluation_review", "evaluation_review"]
    assert len(await events(engine)) == 3
    save_history("annual_evaluation_redrafted_v2", await handle.fetch_history())
