"""The casework service's tables (prefix `casework_`): the case officers' tasks, their append-only
audit trail, and the determination requests heard from `credit.tasks`."""

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.commands import command_table
from services.common.messaging import messaging_tables
from services.common.tables import table_of


class CaseTask(SQLModel, table=True):
    """One human step (workflows/human_task/inputs.TaskSpec) with its plan, claim, alarms and decision."""

    __tablename__ = "casework_task"
    # The queue: open work by due date; decisions not yet signalled.
    __table_args__ = (
        Index("ix_casework_task_queue", "state", "due_on"),
        Index("ix_casework_task_signal_pending", "signal_pending"),
    )

    id: str = Field(primary_key=True, max_length=100)
    kind: str = Field(max_length=30)
    region: str = Field(max_length=6, index=True)
    state: str = Field(max_length=20)  # open | claimed | completed | cancelled
    subject: dict = Field(sa_column=Column(JSON, nullable=False))
    subject_type: str = Field(max_length=20)
    subject_id: str = Field(max_length=64)
    record_id: str | None = Field(default=None, max_length=64, index=True)
    title: str = Field(max_length=300)
    context: dict = Field(sa_column=Column(JSON, nullable=False))
    opened_on: date
    due_on: date
    # due_on counted through a year with no official holiday arrangement yet (provisional calendar).
    due_provisional: bool = False
    alarms: list = Field(sa_column=Column(JSON, nullable=False))
    # "reminder:0", "escalation:1", ...: an alarm fired twice (activity retry) is applied once.
    fired_alarms: list = Field(sa_column=Column(JSON, nullable=False))
    escalation_level: int = 0
    escalated_to_region: str | None = Field(default=None, max_length=6)
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    assignee: str | None = Field(default=None, max_length=200, index=True)
    assignee_org: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None
    excluded_officers: list = Field(sa_column=Column(JSON, nullable=False))
    priority: int = 50
    decision: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    cancelled_reason: str | None = None
    workflow_id: str = Field(max_length=200)
    parent_workflow_id: str | None = Field(default=None, max_length=200)
    created_at: datetime
    completed_at: datetime | None = None
    # The decision is stored first; the `decide` signal follows, retried until Temporal takes it.
    signal_pending: bool = False
    signalled_at: datetime | None = None
    signal_error: str | None = None


class TaskAudit(SQLModel, table=True):
    """Who did what to a task, when (append-only: the database refuses UPDATE and DELETE)."""

    __tablename__ = "casework_task_audit"

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    task_id: str = Field(max_length=100, index=True)
    at: datetime
    actor: str = Field(max_length=200)  # token sub, or "system" for the task's workflow
    role: str = Field(max_length=30)
    action: str = Field(max_length=20)  # created|claimed|unclaimed|completed|reminded|escalated|cancelled
    details: dict = Field(sa_column=Column(JSON, nullable=False))


class DeterminationRequest(SQLModel, table=True):
    """A `determination.requested.v1` accepted, and the DeterminationWorkflow it starts (started_at
    stays empty until Temporal took the start command: the command relay retries)."""

    __tablename__ = "casework_determination_request"

    request_id: str = Field(primary_key=True, max_length=100)
    region: str = Field(max_length=6)
    workflow_input: dict = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime
    started_at: datetime | None = None


class CalendarInstall(SQLModel, table=True):
    """An official holiday arrangement installed by an administrator (PUT /v1/calendar/{year}):
    append-only and versioned per year, the newest version is in force; a correction is a new
    install, never an edit (the database refuses UPDATE and DELETE)."""

    __tablename__ = "casework_calendar_install"
    __table_args__ = (UniqueConstraint("year", "version", name="uq_casework_calendar_install_version"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    year: int = Field(index=True)
    version: int
    notice_number: str = Field(max_length=100)  # e.g. 国办发明电〔2025〕7号
    notice_date: date
    holidays: list = Field(sa_column=Column(JSON, nullable=False))  # ISO dates
    workdays: list = Field(sa_column=Column(JSON, nullable=False))  # ISO dates (调休 working days)
    installed_by: str = Field(max_length=200)  # token sub
    installed_at: datetime


class ConsoleForm(SQLModel, table=True):
    """A refused console form kept for the GET that follows it (post/redirect/get, console/flash.py):
    what the officer typed and each field's error, for a few minutes, taken once. In the database,
    not in process memory, so any console replica behind a balancer without affinity shows it; not
    in a cookie, because a reason and an opinion may each be 4000 characters."""

    __tablename__ = "casework_console_form"

    key_hash: str = Field(primary_key=True, max_length=64)  # SHA-256 of the cookie's random key
    officer: str = Field(max_length=300)  # token sub: only the officer who typed it gets it back
    value: dict = Field(sa_column=Column(JSON, nullable=False))
    expires_at: datetime = Field(index=True)


MESSAGING = messaging_tables("casework")
MIGRATIONS = Path(__file__).parent / "migrations"
TASKS_T = table_of(CaseTask)
AUDIT_T = table_of(TaskAudit)
REQUESTS_T = table_of(DeterminationRequest)
CALENDAR_T = table_of(CalendarInstall)
CONSOLE_FORMS_T = table_of(ConsoleForm)
# Workflow starts and decisions owed to Temporal (services/casework/commands.py).
COMMANDS = command_table("casework")
TABLES = [TASKS_T, AUDIT_T, REQUESTS_T, CALENDAR_T, CONSOLE_FORMS_T, COMMANDS, *MESSAGING.all]
