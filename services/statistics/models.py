"""The statistics service's tables (prefix `statistics_`; issue 17).

`statistics_count` holds every figure aggregated when the event arrives: one row per (region, month,
metric, two dimensions) with a running count, so a dashboard read sums a few hundred rows whatever
the volume. A flow (new records, appeals filed) adds 1 to the month it happened; a level that
changes over time (records in force, blacklist size) adds +1 in the month something enters it and
-1 in the month it leaves, and the level at the end of a month is the sum up to that month.

The last-seen state of each record, task, expert and subject is kept (`statistics_record`, `statistics_task`,
`statistics_expert`, `statistics_subject`): a later version is only a change of level if it moves the thing
in or out (a record corrected while in force stays in force), and an event older than the kept
version changes nothing (versions arrive out of order across partitions)."""

from datetime import date
from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import SQLModel

from services.common.messaging import messaging_tables

COUNTS = Table(
    "statistics_count",
    SQLModel.metadata,
    Column("region", String(6), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM, the month the change happened in
    Column("metric", String(40), primary_key=True),
    Column("dim_a", String(100), primary_key=True),  # e.g. subject type, task kind, state
    Column("dim_b", String(200), primary_key=True),  # e.g. severity, officer, behaviour code ('' when none)
    Column("n", BigInteger, nullable=False),
)

# The same counters rolled up: each change counted again for its region and every region above it
# (city, province), so "a region and the divisions under it" is an exact-key read, whatever the
# number of counties (measured: bench/dashboard.py).
ROLLUP = Table(
    "statistics_rollup",
    SQLModel.metadata,
    Column("region", String(6), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("metric", String(40), primary_key=True),
    Column("dim_a", String(100), primary_key=True),
    Column("dim_b", String(200), primary_key=True),
    Column("n", BigInteger, nullable=False),
    # The reads ask one region for a few metrics over a range of months.
    Index("ix_statistics_rollup_region_metric_month", "region", "metric", "month"),
)

RECORDS = Table(
    "statistics_record",
    SQLModel.metadata,
    Column("record_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("region", String(6), nullable=False),
    Column("subject_type", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("behaviour_code", String(40), nullable=False),
    Column("in_force", Integer, nullable=False),  # 1 or 0
)

TASKS = Table(
    "statistics_task",
    SQLModel.metadata,
    Column("task_id", String(100), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("region", String(6), nullable=False, index=True),
    Column("due_on", Date, nullable=False),
    Column("state", String(20), nullable=False),  # open | done | cancelled
    Column("assignee", String(200), nullable=False),  # '' while nobody holds it
)

EXPERTS = Table(
    "statistics_expert",
    SQLModel.metadata,
    Column("expert_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("region", String(6), nullable=False),
    Column("status", String(20), nullable=False),  # drawable | suspended | removed
)

SUBJECTS = Table(
    "statistics_subject",
    SQLModel.metadata,
    Column("subject_type", String(20), primary_key=True),
    Column("subject_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("region", String(6), nullable=False),
    Column("blacklisted", Integer, nullable=False),
)

# Entries of published notices (`notice.published.v1`), as published: the annual report's notable
# cases come only from here, never from unpublished records.
CASES = Table(
    "statistics_case",
    SQLModel.metadata,
    Column("notice_id", String(100), primary_key=True),
    Column("record_id", String(64), primary_key=True),
    Column("region", String(6), nullable=False, index=True),
    Column("published_on", Date, nullable=False),
    Column("severity", String(20), nullable=False),
    Column("behaviour_code", String(40), nullable=False),
    Column("subject_type", String(20), nullable=False),
    Column("subject_name", String(300), nullable=False),
    Column("recorded_on", String(10), nullable=False),
)

# Annual reports: a draft per (region, year, version) made by the schedule's workflow, published
# or rejected by the supervisor's review task.
REPORTS = Table(
    "statistics_report",
    SQLModel.metadata,
    Column("report_id", String(40), primary_key=True),
    Column("region", String(6), nullable=False),
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", String(12), nullable=False),  # draft | published | rejected
    Column("pdf", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("summary", JSON, nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("region", "year", "version", name="uq_statistics_report_version"),
)

MESSAGING = messaging_tables("statistics")
MIGRATIONS = Path(__file__).parent / "migrations"
TABLES = [COUNTS, ROLLUP, RECORDS, TASKS, EXPERTS, SUBJECTS, CASES, REPORTS, *MESSAGING.all]


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
