"""The evaluations service's own tables (prefix `evaluations_`).

- `evaluations_figure`: the figures an evaluation scores, as fetched (from the watch service's
  rankings, from the records), with where each came from: the provenance the answers show.
- `evaluations_officer_entry`: officer-entered indicator scores and adjustments, append-only (who,
  when, why): the latest entry per indicator counts, the earlier ones are the audit trail.
- `evaluations_result`: a subject's result for a period (score, grade, provenance lines), draft or
  published; the inspection draw reads the grades from here.
- `evaluations_inspection_draw`: every inspection draw, with its seed, the population and weights it
  drew from, who drew it and when, so a draw can be re-run and checked.
- `evaluations_record`: the replica of `credit.records` (services/common/record_replica.py), from
  which the records in force per subject are counted (records.py)."""

from datetime import datetime
from pathlib import Path

from sqlalchemy import JSON, BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from services.common.messaging import messaging_tables
from services.common.record_replica import record_replica_table
from services.common.tables import table_of


class Figure(SQLModel, table=True):
    __tablename__ = "evaluations_figure"

    subject_kind: str = Field(primary_key=True, max_length=20)
    subject_id: str = Field(primary_key=True, max_length=64)
    period: str = Field(primary_key=True, max_length=7)
    name: str = Field(primary_key=True, max_length=80)
    region: str = Field(index=True, max_length=6)
    value: float
    source: str = Field(max_length=20)  # watch | records
    source_ref: str = Field(max_length=300)  # the request or event it was read from
    fetched_at: datetime


class OfficerEntryRow(SQLModel, table=True):
    __tablename__ = "evaluations_officer_entry"

    id: str = Field(primary_key=True, max_length=64)
    subject_kind: str = Field(max_length=20)
    subject_id: str = Field(index=True, max_length=64)
    period: str = Field(max_length=7)
    region: str = Field(max_length=6)
    indicator: str = Field(max_length=80)  # an indicator code, or "adjustment"
    points: float
    reason: str = Field(sa_column=Column(Text, nullable=False))
    officer: str = Field(max_length=300)
    entered_at: datetime


class Result(SQLModel, table=True):
    __tablename__ = "evaluations_result"

    subject_kind: str = Field(primary_key=True, max_length=20)
    subject_id: str = Field(primary_key=True, max_length=64)
    period: str = Field(primary_key=True, max_length=7)
    region: str = Field(index=True, max_length=6)
    policy: str = Field(max_length=300)
    score: float
    grade: str = Field(max_length=20)
    lines: list = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=20)  # draft | published
    updated_at: datetime


class InspectionDraw(SQLModel, table=True):
    __tablename__ = "evaluations_inspection_draw"

    id: str = Field(primary_key=True, max_length=64)
    region: str = Field(index=True, max_length=6)
    kind: str = Field(max_length=20)
    size: int
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    policy: str = Field(max_length=300)
    population: list = Field(sa_column=Column(JSON, nullable=False))  # [{id, grade, weight}]
    drawn: list = Field(sa_column=Column(JSON, nullable=False))
    drawn_by: str = Field(max_length=300)
    drawn_at: datetime


FIGURES = table_of(Figure)
ENTRIES = table_of(OfficerEntryRow)
RESULTS = table_of(Result)
DRAWS = table_of(InspectionDraw)
# The replica of credit.records the record counts are read from (records.py).
REPLICA = record_replica_table("evaluations")
MESSAGING = messaging_tables("evaluations")
MIGRATIONS = Path(__file__).parent / "migrations"
TABLES = [FIGURES, ENTRIES, RESULTS, DRAWS, REPLICA, *MESSAGING.all]
