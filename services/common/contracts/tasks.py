"""`credit.tasks` (CONTRACT §1): case officers' tasks, and the determinations that wait for a
finance department (evaluation -> casework). `determination.requested.v1` is also read back by the
casework service: its model is the workflow input's (`workflows/determination_inputs.py`)."""

from typing import Any

from services.common.contracts.base import OutboundData, contract
from services.common.topics import TASKS
from workflows.determination.inputs import DeterminationRequest


class TaskRef(OutboundData):
    task_id: str
    kind: str
    region: str
    subject: Any = None
    record_id: str | None = None
    due_on: str
    provisional: bool = False


class TaskCreated(TaskRef):
    state: str
    title: str
    opened_on: str
    priority: Any = None
    alarms: list[Any] = []
    workflow_id: str | None = None
    created_at: str


class TaskEscalated(TaskRef):
    task_kind: str
    level: int
    to_region: str | None = None
    at: Any = None
    alarm_provisional: bool = False
    assignee: str | None = None


class TaskReplanned(TaskRef):
    task_kind: str
    alarms: list[Any] = []
    reason: str


class TaskCompleted(TaskRef):
    cancelled: bool
    cancelled_reason: str | None = None
    decision: str | None = None
    reason: str | None = None
    fields: dict[str, Any] = {}
    decided_by: str | None = None
    completed_at: str | None = None


class DeterminationIntended(TaskRef):
    request_id: str | None = None
    behaviour_code: str | None = None
    reasons: dict[str, Any]
    basis: dict[str, Any]
    rights: dict[str, Any]


TASK_CREATED = contract("task.created.v1", TASKS, TaskCreated, "outbound", "A case officer's task was opened.")
TASK_ESCALATED = contract("task.escalated.v1", TASKS, TaskEscalated, "outbound", "A task was reminded or escalated.")
TASK_COMPLETED = contract("task.completed.v1", TASKS, TaskCompleted, "outbound", "A task was decided or cancelled.")
TASK_REPLANNED = contract(
    "task.replanned.v1", TASKS, TaskReplanned, "outbound", "A task's due date or alarms moved (never earlier)."
)
DETERMINATION_REQUESTED = contract(
    "determination.requested.v1",
    TASKS,
    DeterminationRequest,
    "outbound",
    "A reported serious behaviour waits for the finance department of its region (read by casework).",
)
DETERMINATION_INTENDED = contract(
    "determination.intended.v1",
    TASKS,
    DeterminationIntended,
    "outbound",
    "The notice to a subject of an intended serious determination, before it is listed.",
)

CONTRACTS = (
    TASK_CREATED,
    TASK_ESCALATED,
    TASK_COMPLETED,
    TASK_REPLANNED,
    DETERMINATION_REQUESTED,
    DETERMINATION_INTENDED,
)
