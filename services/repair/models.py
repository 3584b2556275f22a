"""The repair service's tables (prefix `repair_`): its replica of the credit records, the repair
window of each repairable record, the applications with their decisions (the repair part of the
subject's integrity archive; the record's own history in the evaluation service keeps the repair as
a version), and the Temporal commands owed to the workflows."""

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import JSON, Column, DateTime, Table
from sqlmodel import Field, SQLModel

from services.common.commands import command_table
from services.common.messaging import messaging_tables
from services.common.record_replica import record_replica_table
from services.common.tables import table_of


class RepairWindow(SQLModel, table=True):
    """Where a repairable record's repair stands: written `waiting` when its workflow is ordered,
    then `open` / `closed` by the workflow (activity publish_repair_window)."""

    __tablename__ = "repair_window"

    record_id: str = Field(primary_key=True, max_length=64)
    record_version: int
    subject_type: str = Field(max_length=20)
    subject_id: str = Field(max_length=64, index=True)
    region: str = Field(max_length=6)
    state: str = Field(max_length=10)  # waiting | open | closed
    opens_on: date | None = None
    closes_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    reason: str = Field(default="", max_length=40)
    policy_version: str = Field(max_length=40)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RepairApplicationRow(SQLModel, table=True):
    """An application for repair (001 Art. 20): the commitment, the evidence, and what became of
    it — decision, reason and opinion; `history` lists every state it went through."""

    __tablename__ = "repair_application"

    id: str = Field(primary_key=True, max_length=64)
    record_id: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=20)
    subject_id: str = Field(max_length=64, index=True)
    region: str = Field(max_length=6)
    applicant: dict = Field(sa_column=Column(JSON, nullable=False))
    commitment: str
    evidence: list = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=20)
    code: str | None = Field(default=None, max_length=40)
    reason: str = ""
    opinion: str = ""
    task_id: str | None = Field(default=None, max_length=100)
    decided_by: str | None = Field(default=None, max_length=200)
    history: list = Field(sa_column=Column(JSON, nullable=False))
    version: int  # +1 on every change, so followers of repair.changed.v1 can order what they see
    submitted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # The (source, id) it came from: a retried HTTP request or redelivered event finds it.
    source: str = Field(max_length=300)
    source_event_id: str = Field(max_length=200)


# Temporal starts and signals owed to the workflows (services/repair/commands.py), written in the
# transaction that decided them and delivered by the command relay: consumers and HTTP never wait.
COMMANDS = command_table("repair", deferred=True)

REPLICA: Table = record_replica_table("repair")
MESSAGING = messaging_tables("repair")
MIGRATIONS = Path(__file__).parent / "migrations"
WINDOWS: Table = table_of(RepairWindow)
APPLICATIONS: Table = table_of(RepairApplicationRow)
TABLES = [REPLICA, WINDOWS, APPLICATIONS, COMMANDS, *MESSAGING.all]
