"""The appeal service's own tables (prefix `appeal_`): the appeals and a replica of the credit
records they are about (built from `credit.records`, so an appeal is judged at once without
asking another service)."""

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.commands import command_table
from services.common.messaging import messaging_tables
from services.common.record_replica import record_replica_table
from services.common.tables import table_of


class Appeal(SQLModel, table=True):
    """An objection to a record (Shandong (十)): the applicant's grounds and evidence (谁申请、谁举证),
    where its review stands, and the decision with the reason the applicant sees."""

    __tablename__ = "appeal_appeal"
    __table_args__ = (
        UniqueConstraint("source", "source_event_id", name="uq_appeal_source_event"),
        UniqueConstraint("open_record_id", name="uq_appeal_open_record"),
    )

    id: str = Field(primary_key=True, max_length=64)
    record_id: str = Field(index=True, max_length=64)
    # The record's id while the appeal is open, NULL once it is decided or closed: one open appeal
    # per record, enforced by the database even against a concurrent twin.
    open_record_id: str | None = Field(default=None, max_length=64)
    subject_type: str = Field(max_length=20)
    subject_id: str = Field(index=True, max_length=64)
    subject_name: str = Field(max_length=200)
    region: str = Field(max_length=6)  # the record's: its finance department reviews the appeal
    applicant: dict = Field(sa_column=Column(JSON, nullable=False))
    filed_by: str = Field(max_length=300)  # token sub over HTTP, the forwarding platform over Kafka
    grounds: str = Field(sa_column=Column(Text, nullable=False))
    evidence: list = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=20)
    version: int  # of appeal.changed.v1; 1 is the filing
    task_id: str | None = Field(default=None, max_length=100)
    # {decision, fields, decided_by, decided_at} of the review; `reason` is what the applicant reads.
    decision: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # {record_version, record_status, note}: what the decision did to the record.
    outcome: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    filed_at: datetime
    updated_at: datetime
    # When the review is due, as the appellant was told (services/appeal/deadline.py): counted at
    # filing and again when a holiday arrangement of a year it was counted through is installed
    # (replanner.py), never earlier. NULL for appeals filed before it was stored (counted on read).
    review_due_on: date | None = None
    review_working_days: int | None = None
    review_due_provisional: bool | None = None
    # Set once the review workflow has been started (its start command is retried until then).
    workflow_started_at: datetime | None = None
    source: str = Field(max_length=300)
    source_event_id: str = Field(max_length=200)


APPEALS_T = table_of(Appeal)
REPLICA = record_replica_table("appeal")
MESSAGING = messaging_tables("appeal")
# Alembic revisions of these tables (services.common.migrations runs them at start).
MIGRATIONS = Path(__file__).parent / "migrations"
# Review workflows to start (services/appeal/commands.py), delivered by the command relay.
COMMANDS = command_table("appeal")
TABLES = [APPEALS_T, REPLICA, COMMANDS, *MESSAGING.all]
