"""An appeal's review deadline when a year's holiday arrangement is installed, on the time-skipping
server: the real AppealReviewWorkflow, its real child HumanTaskWorkflow, the casework activities
planning with the real planner (services/casework/plan.py) on a reckoner of their own, the appeal's
input built by the appeal service's own `review_input`.

The appeal is filed on Sunday 2026-12-20: the objection's 20 days (征信业管理条例 Art. 25, Luoyang's
policy) end on Saturday 2027-01-09, and 2027 has no official arrangement here, so the review is due
on the last working day before that on the provisional calendar of the law: Friday 01-08, 14 working
days, provisional. The "official" arrangements are the TEST FIXTURES of test_task_replan.py, NOT
OFFICIAL DATA."""

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from services.appeal.commands import review_input
from services.appeal.deadline import review_due
from services.common.lawdates import SHANGHAI
from tests.support.calendars import fixture_arrangement
from tests.support.factories import evidence, new_uscc
from tests.support.time_skipping import time_skipping_server
from tests.workflows.saved import save_history
from tests.workflows.test_appeal import Fakes
from tests.workflows.test_appeal import workers as appeal_workers
from tests.workflows.test_task_replan import FakeCasework, plan_when, sleep_until, until
from workflows.activity_names import CANCEL_TASK
from workflows.appeal.inputs import AppealDueReplan, AppealResult, AppealReviewInput, appeal_workflow_id, review_task_id
from workflows.appeal.workflow import AppealReviewWorkflow
from workflows.human_task.inputs import TaskClosed, TaskDecision, TaskReplan, task_workflow_id
from workflows.human_task.workflow import HumanTaskWorkflow

FILED = datetime(2026, 12, 20, 10, 0, tzinfo=SHANGHAI)  # a Sunday
LEGAL_DEADLINE = date(2027, 1, 9)  # 20 days after the filing day (a Saturday)
COUNTY = "410322"


class Casework(FakeCasework):
    """The planner's fakes of test_task_replan.py, and `cancel_task` for the appeal's child."""

    @activity.defn(name=CANCEL_TASK)
    async def cancel_task(self, closed: TaskClosed) -> None:
        return None


@pytest.fixture
async def env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEnvironment]:
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)  # 2027 has no data: provisional
    async with time_skipping_server() as e:
        yield e


def workers(env: WorkflowEnvironment, fakes: Fakes, casework: Casework) -> AbstractAsyncContextManager[str]:
    """test_appeal.py's workers, with the planner's casework fakes (re-plan included)."""
    planner = [casework.open_task, casework.escalate_task, casework.replan_task, casework.cancel_task]
    return appeal_workers(env, fakes, planner)


def appeal_row() -> dict:
    """An appeal as the appeal service stores it when it accepts the filing."""
    supplier = new_uscc()
    return {
        "id": f"apl-{uuid.uuid4()}",
        "record_id": f"rec-{uuid.uuid4()}",
        "region": COUNTY,
        "subject_type": "supplier",
        "subject_id": supplier,
        "subject_name": "洛阳某某科技有限公司",
        "applicant": {"type": "supplier", "id": supplier, "name": "洛阳某某科技有限公司"},
        "grounds": "处罚决定已被撤销，见行政复议决定书",
        "evidence": evidence(1),
        "filed_at": FILED.astimezone(UTC),
    }


async def file_appeal(
    env: WorkflowEnvironment, queue: str, casework: Casework
) -> tuple[WorkflowHandle, AppealReviewInput]:
    await sleep_until(env, FILED)
    inp = review_input(appeal_row())
    handle = await env.client.start_workflow(
        AppealReviewWorkflow.run, inp, id=appeal_workflow_id(inp.appeal_id), task_queue=queue
    )
    await until(lambda: casework.plans, "the review task never opened")
    return handle, inp


async def decide(env: WorkflowEnvironment, task_id: str) -> None:
    await env.client.get_workflow_handle(task_workflow_id(task_id)).signal(
        HumanTaskWorkflow.decide,
        TaskDecision(
            task_id=task_id,
            decision="uphold",
            reason="所附材料不能证明记录有误",
            decided_by="officer-b",
            decided_by_org=COUNTY,
            decided_at=(await env.get_current_time()).astimezone(UTC),
        ),
    )


async def test_the_review_task_follows_an_install_by_the_casework_replan_never_past_the_law(
    env: WorkflowEnvironment,
) -> None:
    """The appeal's working-day deadline is its review task's due date: the casework re-planner
    (services/casework/replanner.py, every open task whatever its kind) moves it; the task carries
    the law's last day, so it is counted again as the last working day by it."""
    fakes, casework = Fakes(), Casework()
    async with workers(env, fakes, casework) as queue:
        handle, inp = await file_appeal(env, queue, casework)
        assert (inp.due_working_days, inp.review_due_by) == (14, LEGAL_DEADLINE)
        assert casework.plans[0].due_on == date(2027, 1, 8) and casework.plans[0].due_provisional
        shown = review_due(inp.region, inp.filed_at)  # what the appellant was told at filing
        assert (shown.due_on, shown.provisional, shown.due_by) == (date(2027, 1, 8), True, LEGAL_DEADLINE)
        task = env.client.get_workflow_handle(task_workflow_id(review_task_id(inp.appeal_id, 1)))

        # 12-28: an arrangement that makes Monday 01-04 a day off is installed; casework signals
        # `replan` to every open task counted through 2027, the appeal's review task too. The 14
        # working days counted on the provisional calendar would now end 01-11, past the law's 20
        # days: the task stays due Friday 01-08, on the official footing now.
        await sleep_until(env, datetime(2026, 12, 28, 10, tzinfo=SHANGHAI))
        casework.reckoner.install(fixture_arrangement(1, off={date(2027, 1, 4)}))
        await task.signal(HumanTaskWorkflow.replan, TaskReplan(year=2027, reason="2027 installed (fixture A)"))
        kept = await plan_when(task, lambda p: not p.due_provisional, "the review task was not re-planned")
        assert kept.due_on == date(2027, 1, 8)

        # 01-05: a later version makes Saturday 01-09, the law's last day, a working day (调休).
        await sleep_until(env, datetime(2027, 1, 5, 10, tzinfo=SHANGHAI))
        casework.reckoner.install(fixture_arrangement(2, work={LEGAL_DEADLINE}))
        await task.signal(HumanTaskWorkflow.replan, TaskReplan(year=2027, reason="2027 corrected (fixture B)"))
        moved = await plan_when(task, lambda p: p.due_on != date(2027, 1, 8), "the due date did not move")
        assert (moved.due_on, moved.due_provisional) == (LEGAL_DEADLINE, False)

        await decide(env, review_task_id(inp.appeal_id, 1))
        result: AppealResult = await handle.result()
    assert result.state == "upheld"
    assert casework.replans == ["2027 installed (fixture A)", "2027 corrected (fixture B)"]
    assert casework.fired == []  # the provisional reminder (01-07 09:00) was never reached


async def test_a_replanned_due_date_is_announced_once_and_never_earlier(env: WorkflowEnvironment) -> None:
    """The appeal service stores the re-planned due date on the appeal and signals `replan_due`;
    the workflow announces it as a new version of the appeal (what appeal.changed.v1 carries), once:
    the command redelivered, or an earlier date, changes nothing."""
    fakes, casework = Fakes(), Casework()
    async with workers(env, fakes, casework) as queue:
        handle, inp = await file_appeal(env, queue, casework)
        await until(lambda: fakes.states() == ["under_review"], "under review")
        await sleep_until(env, datetime(2026, 12, 28, 10, tzinfo=SHANGHAI))
        official = AppealDueReplan(due_on=date(2027, 1, 8), provisional=False, reason="2027 installed (fixture A)")
        await handle.signal(AppealReviewWorkflow.replan_due, official)
        await until(lambda: len(fakes.changes) == 2, "the re-planned date was not announced")
        await handle.signal(AppealReviewWorkflow.replan_due, official)  # the command delivered twice
        earlier = AppealDueReplan(due_on=date(2027, 1, 7), provisional=False, reason="a bad count")
        await handle.signal(AppealReviewWorkflow.replan_due, earlier)
        later = AppealDueReplan(due_on=LEGAL_DEADLINE, provisional=False, reason="2027 corrected (fixture B)")
        await handle.signal(AppealReviewWorkflow.replan_due, later)
        await until(lambda: len(fakes.changes) == 3, "the later date was not announced")
        await decide(env, review_task_id(inp.appeal_id, 1))
        result: AppealResult = await handle.result()
        history = await handle.fetch_history()
    assert result.state == "upheld"
    assert [(c.version, c.state) for c in fakes.changes] == [
        (2, "under_review"),
        (3, "under_review"),
        (4, "under_review"),
        (5, "upheld"),
    ]
    assert fakes.changes[1].note == "review due date re-planned to 2027-01-08: 2027 installed (fixture A)"
    assert fakes.changes[2].note == "review due date re-planned to 2027-01-09: 2027 corrected (fixture B)"
    # The review task carries the law's last day (patch appeal-review-replan).
    assert casework.plans[0].due_on == date(2027, 1, 8)
    save_history("appeal_due_replanned_v2", history)
