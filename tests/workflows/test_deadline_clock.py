"""Deadline clocks (issue 13) on the time-skipping server, with the moments the watch service counts
from the working-day calendar (services/watch/timeline.clock_input): across a holiday with 调休, and
across a provisional year; stopped in time; overdue on arrival; the officer's decisions. The watch's
and casework's activities are fakes under their real names."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.arrangements import Arrangement, provisional
from services.common.cloudevents import Envelope
from services.common.lawdates import SHANGHAI, local_date
from services.common.temporal import CASEWORK_ACTIVITIES, WATCH_ACTIVITIES
from services.common.workdays import LIBRARY_YEARS, RECKONER
from services.watch.deadlines import deadline_policy, due_for
from services.watch.events import Fact, parse_fact
from services.watch.timeline import clock_id, clock_input, clock_moments
from tests.support.poll import eventually
from tests.support.procurement import procurement_event
from tests.support.time_skipping import time_skipping_server
from tests.workflows.casework_fakes import FakeCasework
from tests.workflows.saved import save_history
from workflows.activity_names import DELIVER_NOTICES, RAISE_WARNING, REPORT_OVERDUE_BEHAVIOUR, SETTLE_CLOCK
from workflows.deadline_clock.inputs import (
    ClockInput,
    ClockReplan,
    ClockStop,
    OverdueDecided,
    WarningRaised,
    clock_workflow_id,
)
from workflows.deadline_clock.workflow import DeadlineClockWorkflow
from workflows.human_task.inputs import TaskDecision, task_workflow_id
from workflows.human_task.workflow import HumanTaskWorkflow


def spring_with_tiaoxiu(year: int) -> tuple[Arrangement, date]:
    """A test arrangement of `year` standing in for the State Council's (installed at run time as an
    administrator would): eight days off, Friday to Friday, then Saturday a 调休 working day; and
    that Saturday. The dates follow the year, so the test stays ahead of today's clock."""
    saturday = date(year, 2, 10)
    saturday += timedelta(days=(5 - saturday.weekday()) % 7)
    arrangement = Arrangement(
        year=year,
        holidays=frozenset(saturday - timedelta(days=d) for d in range(1, 9)),
        workdays=frozenset({saturday}),
        source="test arrangement with 调休",
        status="official",
        version=1,
    )
    return arrangement, saturday


class Fakes(FakeCasework):
    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[tuple[str, datetime, bool]] = []
        self.reported: list[OverdueDecided] = []
        self.settled: list[OverdueDecided] = []
        self.notified: list[str] = []

    @activity.defn(name=RAISE_WARNING)
    async def raise_warning(self, raised: WarningRaised) -> str:
        self.warnings.append((raised.level, activity.info().current_attempt_scheduled_time, raised.reminder))
        return f"{raised.clock_id}:{raised.level}"

    @activity.defn(name=DELIVER_NOTICES)
    async def deliver_notices(self, wid: str) -> int:
        self.notified.append(wid)
        return 0

    @activity.defn(name=REPORT_OVERDUE_BEHAVIOUR)
    async def report(self, decided: OverdueDecided) -> None:
        self.reported.append(decided)

    @activity.defn(name=SETTLE_CLOCK)
    async def settle(self, decided: OverdueDecided) -> None:
        self.settled.append(decided)


@asynccontextmanager
async def workers(env: WorkflowEnvironment, fakes: Fakes) -> AsyncIterator[str]:
    queue = f"wf-{uuid.uuid4()}"
    async with (
        Worker(env.client, task_queue=queue, workflows=[DeadlineClockWorkflow, HumanTaskWorkflow]),
        Worker(
            env.client,
            task_queue=WATCH_ACTIVITIES,
            activities=[fakes.raise_warning, fakes.deliver_notices, fakes.report, fakes.settle],
        ),
        Worker(
            env.client,
            task_queue=CASEWORK_ACTIVITIES,
            activities=fakes.activities(),
        ),
    ):
        yield queue


def fact(kind: str, at: datetime, code: str) -> Fact:
    event = procurement_event(kind, code=code, at=at)
    parsed = parse_fact(Envelope.model_validate(event), received_at=at)
    assert isinstance(parsed, Fact)
    return parsed


def award_clock(at: datetime, code: str) -> ClockInput:
    f = fact("award.notified", at, code)
    due = due_for(deadline_policy(), f.region, "contract_signing", local_date(at))
    assert due is not None
    responsible = {"type": "purchaser", "id": f.data.purchaser.id, "name": f.data.purchaser.name}
    return clock_input(f, "contract_signing", clock_id(f, "contract_signing"), due, responsible)


def local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of its own per test: its clock starts at today's, so the holidays ahead of today are
    ahead of it too, whatever the other workflow tests made the shared server's clock skip to."""
    async with time_skipping_server() as environment:
        yield environment


async def decide(env: WorkflowEnvironment, fakes: Fakes, decision: str, *, after: timedelta, **fields: object) -> None:
    """Let `after` pass on the server's clock, then decide the task the clock opened."""
    await env.sleep(after)
    await eventually(lambda: _count(fakes), until=lambda n: n > 0, timeout=20)
    spec = fakes.tasks[-1]
    await env.client.get_workflow_handle(task_workflow_id(spec.task_id)).signal(
        HumanTaskWorkflow.decide,
        TaskDecision(
            task_id=spec.task_id,
            decision=decision,
            reason="the purchaser was told by phone",
            fields=dict(fields),
            decided_by="officer-1",
            decided_by_org="411000",
            decided_at=datetime.now(UTC),
        ),
    )


async def _count(fakes: Fakes) -> int:
    return len(fakes.tasks)


async def test_due_soon_on_the_tiaoxiu_saturday_then_overdue_and_a_task(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    year = local_date(datetime.now(UTC)).year + 1
    arrangement, saturday = spring_with_tiaoxiu(year)
    monkeypatch.setitem(RECKONER._installed, year, arrangement)
    # Award on the Thursday before the eight days off (Xuchang, 2 working days): the 调休 Saturday
    # is the 1st working day, Sunday off, Monday the 2nd: due on Monday.
    monday = saturday + timedelta(days=2)
    award = datetime.combine(saturday - timedelta(days=9), datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=10)
    inp = award_clock(award, f"XC-{uuid.uuid4().hex[:6]}")
    assert inp.due_on == monday and not inp.provisional
    assert inp.due_soon_at == datetime.combine(saturday, datetime.min.time(), tzinfo=SHANGHAI)
    fakes = Fakes()
    async with workers(env, fakes) as queue:
        handle = await env.client.start_workflow(
            DeadlineClockWorkflow.run, inp, id=clock_workflow_id(inp.clock_id), task_queue=queue
        )
        # Months pass on the server's clock: due_soon on the Saturday, overdue from Tuesday.
        after = datetime.combine(monday + timedelta(days=2), datetime.min.time(), tzinfo=SHANGHAI)
        await decide(env, fakes, "dismiss", after=after - datetime.now(UTC))
        result = await handle.result()
        history = await handle.fetch_history()
    levels = [(lvl, local(at)) for lvl, at, _ in fakes.warnings]
    assert [lvl for lvl, _ in levels] == ["due_soon", "overdue", "escalated"]
    assert levels[0][1].date() == saturday
    assert levels[1][1] >= datetime.combine(monday + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    (spec,) = fakes.tasks
    assert (spec.kind, spec.region, spec.subject["type"]) == ("deadline_overdue", "411000", "purchaser")
    assert spec.due_working_days == 5 and spec.context["due_on"] == monday.isoformat()
    assert (result.outcome, result.decision) == ("overdue_decided", "dismiss")
    assert [s.decision for s in fakes.settled] == ["dismiss"] and fakes.reported == []
    save_history("deadline_clock_overdue_v1", history)


async def test_a_provisional_year_is_counted_and_marked(env: WorkflowEnvironment) -> None:
    # 31 December before a year with no official arrangement (the first past the calendar data, or
    # next year): its provisional one has 元旦 off (with 补假 on a weekend) and no 调休. In 2026 → 2027:
    # 1 January off, Monday the 4th is the 1st working day, Tuesday the 5th the 2nd.
    year = max(LIBRARY_YEARS.stop, local_date(datetime.now(UTC)).year + 1)
    assert RECKONER.is_provisional(year)
    eve = date(year - 1, 12, 31)
    inp = award_clock(
        datetime.combine(eve, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=10), "XP-" + uuid.uuid4().hex[:6]
    )
    off = provisional(year).holidays
    assert date(year, 1, 1) in off
    workdays = [d for d in (eve + timedelta(days=n) for n in range(1, 15)) if d.weekday() < 5 and d not in off]
    assert (inp.due_on, inp.provisional) == (workdays[1], True)
    if year == 2027:
        assert inp.due_on == date(2027, 1, 5)
    fakes = Fakes()
    async with workers(env, fakes) as queue:
        handle = await env.client.start_workflow(
            DeadlineClockWorkflow.run, inp, id=clock_workflow_id(inp.clock_id), task_queue=queue
        )
        await decide(
            env,
            fakes,
            "report_behaviour",
            after=datetime.combine(inp.due_on + timedelta(days=2), datetime.min.time(), tzinfo=SHANGHAI)
            - datetime.now(UTC),
            behaviour_code="AGY-G-01",
        )
        result = await handle.result()
        history = await handle.fetch_history()
    assert [(lvl, local(at).date()) for lvl, at, _ in fakes.warnings][:2] == [
        ("due_soon", workdays[0]),
        ("overdue", inp.due_on + timedelta(days=1)),
    ]
    assert fakes.tasks[0].context["provisional"] is True
    assert [r.fields for r in fakes.reported] == [{"behaviour_code": "AGY-G-01"}]
    assert result.decision == "report_behaviour"
    save_history("deadline_clock_reported_v1", history)


async def test_a_contract_in_time_stops_the_clock(env: WorkflowEnvironment) -> None:
    now = await env.get_current_time()
    inp = award_clock(now + timedelta(hours=1), f"XT-{uuid.uuid4().hex[:6]}")
    fakes = Fakes()
    async with workers(env, fakes) as queue:
        handle = await env.client.start_workflow(
            DeadlineClockWorkflow.run, inp, id=clock_workflow_id(inp.clock_id), task_queue=queue
        )
        await handle.signal(DeadlineClockWorkflow.stop, ClockStop(done_at=now + timedelta(hours=2), fact="src|id"))
        result = await handle.result()
        history = await handle.fetch_history()
    assert (result.outcome, fakes.tasks) == ("in_time", [])
    assert all(lvl == "due_soon" for lvl, _, _ in fakes.warnings)
    save_history("deadline_clock_in_time_v1", history)


async def test_an_award_that_arrives_late_is_overdue_on_arrival_and_remind_sends_another_notice(
    env: WorkflowEnvironment,
) -> None:
    now = await env.get_current_time()
    inp = award_clock(now - timedelta(days=10), f"XL-{uuid.uuid4().hex[:6]}")
    fakes = Fakes()
    async with workers(env, fakes) as queue:
        handle = await env.client.start_workflow(
            DeadlineClockWorkflow.run, inp, id=clock_workflow_id(inp.clock_id), task_queue=queue
        )
        await decide(env, fakes, "remind", after=timedelta(seconds=1))
        result = await handle.result()
        history = await handle.fetch_history()
    assert [(lvl, reminder) for lvl, _, reminder in fakes.warnings] == [
        ("overdue", False),
        ("escalated", False),
        ("overdue", True),
    ]
    assert result.levels == ["overdue", "escalated"] and result.decision == "remind"
    save_history("deadline_clock_reminded_v1", history)


async def test_a_provisional_clock_moves_when_the_official_arrangement_is_installed(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted on the provisional calendar, then the official one gives the first two working days of
    the year off as well: the watch counts again (replanner.py) and signals `replan`; the warnings
    come on the new moments, the task names the official due date."""
    monkeypatch.setattr(RECKONER, "_installed", dict(RECKONER._installed))
    year = max(LIBRARY_YEARS.stop, local_date(datetime.now(UTC)).year + 1)
    eve = date(year - 1, 12, 31)
    inp = award_clock(
        datetime.combine(eve, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=10), "XR-" + uuid.uuid4().hex[:6]
    )
    assert inp.provisional
    days = (date(year, 1, 1) + timedelta(days=n) for n in range(10))
    first_two = sorted(d for d in days if RECKONER.is_working_day(d))[:2]
    base = provisional(year)
    fakes = Fakes()
    async with workers(env, fakes) as queue:
        handle = await env.client.start_workflow(
            DeadlineClockWorkflow.run, inp, id=clock_workflow_id(inp.clock_id), task_queue=queue
        )
        RECKONER.install(
            Arrangement(
                year=year,
                holidays=frozenset(base.holidays | set(first_two)),
                workdays=frozenset(base.workdays),
                source="test notice",
                status="official",
                version=1,
            )
        )
        due = due_for(deadline_policy(), inp.region, "contract_signing", eve)
        assert due is not None and due.due_on > inp.due_on and not due.provisional
        due_soon_at, overdue_at = clock_moments(due.due_on, eve)
        assert due_soon_at is not None
        plan = ClockReplan(
            due_on=due.due_on, due_soon_at=due_soon_at, overdue_at=overdue_at, provisional=False, reason="installed"
        )
        await handle.signal(DeadlineClockWorkflow.replan, plan)
        await decide(env, fakes, "dismiss", after=overdue_at + timedelta(days=1) - datetime.now(UTC))
        result = await handle.result()
        history = await handle.fetch_history()
    assert [(lvl, local(at).date()) for lvl, at, _ in fakes.warnings][:2] == [
        ("due_soon", local(due_soon_at).date()),
        ("overdue", due.due_on + timedelta(days=1)),
    ]
    assert local(due_soon_at).date() > inp.due_on - timedelta(days=1)  # not the provisional moment
    (spec,) = fakes.tasks
    assert spec.context["due_on"] == due.due_on.isoformat() and spec.context["provisional"] is False
    assert result.decision == "dismiss"
    save_history("deadline_clock_replanned_v2", history)
