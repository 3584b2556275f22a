"""The watch service's tables (prefix `watch_`): each procurement fact once (by its (source, id)),
the deadline clocks of each project's timeline, the warnings raised, the notices sent for them,
the Temporal commands owed to the clock workflows, and the usual outbox and processed-event
tables."""

from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import SQLModel

from services.common.commands import command_table
from services.common.messaging import messaging_tables

FACTS = Table(
    "watch_fact",
    SQLModel.metadata,
    Column("source", String(300), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("type", String(40), nullable=False),
    Column("region", String(6), nullable=False),
    Column("project_code", String(100), nullable=False),
    Column("contract_no", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    # Another fact of the same kind for the same contract says something else (e.g. another signing
    # time): both are kept, the later-received one names the one it contradicts.
    Column("conflicts_with", String(520), nullable=True),
    Index("ix_watch_fact_project", "region", "project_code"),
)

CLOCKS = Table(
    "watch_clock",
    SQLModel.metadata,
    Column("clock_id", String(260), primary_key=True),  # region:code:stage:contract_no
    Column("region", String(6), nullable=False),
    Column("project_code", String(100), nullable=False),
    Column("project_name", String(300), nullable=False),
    Column("stage", String(40), nullable=False),
    Column("contract_no", String(100), nullable=False),
    Column("purchaser_id", String(64), nullable=False),
    Column("agency_id", String(64), nullable=True),
    Column("responsible", JSON, nullable=False),  # {type, id, name}
    Column("started_by", String(520), nullable=False),  # source|id of the triggering fact
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("provisional", Boolean, nullable=False),
    Column("rule", JSON, nullable=False),  # {value, unit, source, sources}
    Column("done_at", DateTime(timezone=True), nullable=True),
    Column("late", Boolean, nullable=True),
    Column("level", String(20), nullable=True),  # the last warning: due_soon | overdue | escalated
    Column("task_id", String(300), nullable=True),
    Column("decision", String(40), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_watch_clock_project", "region", "project_code"),
)

WARNINGS = Table(
    "watch_warning",
    SQLModel.metadata,
    Column("warning_id", String(300), primary_key=True),  # clock_id:level
    Column("clock_id", String(260), nullable=False),
    Column("region", String(6), nullable=False),
    Column("project_code", String(100), nullable=False),
    Column("stage", String(40), nullable=False),
    Column("level", String(20), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("responsible_type", String(20), nullable=False),
    Column("responsible_id", String(64), nullable=False),
    Column("task_id", String(300), nullable=True),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Index("ix_watch_warning_region", "region", "raised_at"),
)

# One row per notice of a warning to a person, per channel (webhook, sms): delivered, failed after
# its attempts, or not_configured (no adapter set up on this installation).
NOTICES = Table(
    "watch_notice",
    SQLModel.metadata,
    Column("notice_id", String(340), primary_key=True),
    Column("warning_id", String(300), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("warning_id", "channel", "recipient", name="uq_watch_notice_target"),
)

# The supplier checks owed at an award or a contract (kind `check`): asked of /v1/credit by the
# checker (checks.py), never in the consumer's transaction. Commands toward Temporal are in COMMANDS.
DISPATCH = Table(
    "watch_dispatch",
    SQLModel.metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("clock_id", String(260), nullable=False),
    Column("kind", String(20), nullable=False),  # check
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_watch_dispatch_clock", "clock_id"),
)

# The command outbox toward Temporal (commands.py): clock starts, stops, re-plans, interceptions.
COMMANDS = command_table("watch")

MESSAGING = messaging_tables("watch")
MIGRATIONS = Path(__file__).parent / "migrations"
TABLES = [FACTS, CLOCKS, WARNINGS, NOTICES, DISPATCH, COMMANDS, *MESSAGING.all]
