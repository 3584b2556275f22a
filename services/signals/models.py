"""The signals service's tables (prefix `signals_`): the bids of projects still to be judged, the
complaint decisions counted per complainant, the credit commitments, and its messaging tables."""

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from services.common.commands import command_table
from services.common.messaging import messaging_tables
from services.common.tables import table_of


class StoredBid(SQLModel, table=True):
    """A `bid.submitted.v1`, kept until its project's bidding closes (the indicators' view in `bid`)."""

    __tablename__ = "signals_bid"

    event_id: str = Field(primary_key=True, max_length=200)
    project_code: str = Field(max_length=100, index=True)
    supplier_id: str = Field(max_length=64)
    bid: dict = Field(sa_column=Column(JSON, nullable=False))
    at: datetime


class BiddingProject(SQLModel, table=True):
    """A project with bids: when the last bid came, and when it was judged (award, or quiet period)."""

    __tablename__ = "signals_project"

    code: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=300)
    region: str = Field(max_length=6)
    last_bid_at: datetime = Field(index=True)
    judged_at: datetime | None = None
    closed_by: str | None = Field(default=None, max_length=30)  # award | quiet


class ComplaintDecision(SQLModel, table=True):
    """A complaint's decision (`complaint.decided.v1`), once per region and complaint number."""

    __tablename__ = "signals_complaint_decision"

    region: str = Field(primary_key=True, max_length=6)
    complaint_no: str = Field(primary_key=True, max_length=100)
    complainant: str = Field(max_length=90, index=True)
    complainant_name: str = Field(max_length=200)
    project: str = Field(max_length=100)
    decided_on: date
    outcome: str = Field(max_length=20)
    fabricated: bool = False


class Commitment(SQLModel, table=True):
    """A credit commitment (Shandong (十三)) and, once found false, its breach."""

    __tablename__ = "signals_commitment"

    commitment_id: str = Field(primary_key=True, max_length=100)
    subject_type: str = Field(max_length=20)
    subject_id: str = Field(max_length=64, index=True)
    subject_name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    text: str
    made_on: date
    project: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    state: str = Field(max_length=20)  # made | breach_found
    breach: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


MESSAGING = messaging_tables("signals")
# Commands toward Temporal: the collusion triages to start (services/signals/triage.py).
COMMANDS = command_table("signals")
MIGRATIONS = Path(__file__).parent / "migrations"
BIDS_T = table_of(StoredBid)
PROJECTS_T = table_of(BiddingProject)
DECISIONS_T = table_of(ComplaintDecision)
COMMITMENTS_T = table_of(Commitment)
TABLES = [BIDS_T, PROJECTS_T, DECISIONS_T, COMMITMENTS_T, COMMANDS, *MESSAGING.all]
