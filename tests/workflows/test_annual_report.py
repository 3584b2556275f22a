"""The annual report on the time-skipping server (issue 17), with the real statistics activities on
SQLite and the casework activities faked under their real names: the run makes the year's PDF from
the read model, opens a `report_review` task for the region, and a supervisor's `publish` publishes
it (`report.published.v1` in the outbox, state published) while `return` leaves it unpublished. The
year is the one before the moment the schedule fired. The Schedule itself is created on the dev
server (tests/integration/test_statistics_connected.py): the time-skipping server has no schedules."""

import uuid
from datetime import UTC, date, datetime, time, timedelta

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.lawdates import SHANGHAI, local_date
from services.common.temporal import CASEWORK_ACTIVITIES, STATISTICS_ACTIVITIES
from services.statistics.counting import apply_events
from services.statistics.models import MESSAGING, REPORTS
from services.statistics.reports import ReportActivities
from tests.support import statistics_events as s
from tests.unit.test_statistics import engine as statistics_db  # noqa: F401, F811 - the fixture
from tests.workflows.casework_fakes import FakeCasework
from tests.workflows.saved import save_history
from tests.workflows.test_pushes import decision, result, until
from workflows.annual_report.inputs import AnnualReportInput
from workflows.annual_report.workflow import AnnualReportWorkflow
from workflows.human_task.inputs import task_workflow_id
from workflows.human_task.workflow import HumanTaskWorkflow

LUOYANG = "410300"


async def seed(engine: AsyncEngine, year: int) -> None:
    events = [
        s.event(
            "record.created.v1",
            s.record(f"r{i}", recorded_on=date(year, 1 + i % 12, 5), severity="serious" if i % 3 == 0 else "general"),
            id=f"e{i}",
            # Sent now (the skipped clock may be ahead of the real one, which checks an event's time).
            time=datetime.now(UTC) - timedelta(minutes=1),
        )
        for i in range(12)
    ]
    notice = {
        "notice_id": f"blacklist-{year}-1",
        "kind": "blacklist",
        "region": LUOYANG,
        "published_at": f"{year}-04-01T01:00:00+00:00",
        "entries": [
            {
                "record_id": "r0",
                "subject": {"type": "supplier", "id": "91410300MA99000017", "name": "洛阳某某科技有限公司"},
                "behaviour_code": "SUP-S-03",
                "severity": "serious",
                "region": "410322",
                "recorded_on": f"{year}-01-05",
            }
        ],
    }
    events.append(s.event("notice.published.v1", notice, id="n1"))
    async with engine.begin() as conn:
        await apply_events(conn, [s.inbound(e) for e in events])


async def run_review(env: WorkflowEnvironment, engine: AsyncEngine, choice: str, history_name: str) -> dict:
    fired = datetime.combine(date(local_date(await env.get_current_time()).year + 1, 1, 15), time(9), SHANGHAI)
    await env.sleep(fired - await env.get_current_time())
    year = fired.year - 1
    await seed(engine, year)
    fake = FakeCasework()
    queue = f"wf-{uuid.uuid4()}"
    async with (
        Worker(env.client, task_queue=queue, workflows=[AnnualReportWorkflow, HumanTaskWorkflow]),
        Worker(env.client, task_queue=STATISTICS_ACTIVITIES, activities=ReportActivities(engine).all()),
        Worker(
            env.client,
            task_queue=CASEWORK_ACTIVITIES,
            activities=[fake.open_task, fake.escalate_task, fake.cancel_task],
        ),
    ):
        handle = await env.client.start_workflow(
            AnnualReportWorkflow.run,
            AnnualReportInput(region=LUOYANG, review_working_days=10),
            id=f"annual-report:{LUOYANG}-{uuid.uuid4()}",
            task_queue=queue,
        )
        await until(lambda: bool(fake.tasks), "the review task")
        (spec,) = fake.tasks
        assert (spec.kind, spec.region, spec.due_working_days) == ("report_review", LUOYANG, 10)
        assert spec.context["report_id"] == f"{LUOYANG}-{year}-v1" and spec.context["year"] == year
        await env.sleep(timedelta(days=2))
        task = env.client.get_workflow_handle(task_workflow_id(spec.task_id))
        await task.signal(HumanTaskWorkflow.decide, decision(spec.task_id, choice))
        outcome = await result(env, handle)
        save_history(history_name, await handle.fetch_history())
    async with engine.connect() as conn:
        row = (await conn.execute(select(REPORTS))).mappings().one()
        events = [orjson.loads(r.payload) for r in await conn.execute(select(MESSAGING.outbox.c.payload))]
    return {"outcome": outcome, "row": dict(row), "events": events, "year": year}


async def test_a_published_report(time_skipping: WorkflowEnvironment, statistics_db: AsyncEngine) -> None:  # noqa: F811
    got = await run_review(time_skipping, statistics_db, "publish", "annual_report_published_v1")
    assert got["outcome"].state == "published" and got["row"]["state"] == "published"
    assert got["row"]["year"] == got["year"] and got["row"]["pdf"].startswith(b"%PDF")
    assert got["row"]["summary"]["records_new"] == 12
    (event,) = [e for e in got["events"] if e["type"].endswith("report.published.v1")]
    assert event["data"]["url"] == f"/v1/statistics/reports/{got['row']['report_id']}.pdf"
    assert event["data"]["sha256"] == got["row"]["sha256"] and got["row"]["decided_by"] == "officer-1"


async def test_a_returned_report_is_not_published(
    time_skipping: WorkflowEnvironment,
    statistics_db: AsyncEngine,  # noqa: F811
) -> None:
    got = await run_review(time_skipping, statistics_db, "return", "annual_report_returned_v1")
    assert got["outcome"].state == "rejected" and got["row"]["state"] == "rejected"
    assert not [e for e in got["events"] if e["type"].endswith("report.published.v1")]
