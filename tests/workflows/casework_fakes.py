"""The casework service's activities as a parent workflow's test meets them (HumanTaskWorkflow's
`open_task`, `escalate_task`, `cancel_task`), recording what was asked: a task opened today with no
alarms, so a test decides it when it likes."""

from datetime import UTC, datetime

from temporalio import activity

from services.common.lawdates import local_date
from workflows.activity_names import CANCEL_TASK, ESCALATE_TASK, OPEN_TASK
from workflows.human_task.inputs import TaskClosed, TaskPlan, TaskSpec


class FakeCasework:
    def __init__(self) -> None:
        self.tasks: list[TaskSpec] = []
        self.cancelled: list[str] = []

    @activity.defn(name=OPEN_TASK)
    async def open_task(self, spec: TaskSpec) -> TaskPlan:
        self.tasks.append(spec)
        today = local_date(datetime.now(UTC))
        return TaskPlan(task_id=spec.task_id, opened_on=today, due_on=today, alarms=[])

    @activity.defn(name=ESCALATE_TASK)
    async def escalate_task(self, _: object) -> None:
        return None

    @activity.defn(name=CANCEL_TASK)
    async def cancel_task(self, closed: TaskClosed) -> None:
        self.cancelled.append(closed.task_id)

    def activities(self) -> list:
        return [self.open_task, self.escalate_task, self.cancel_task]
