"""The publication service's own read model (prefix `publication_`), built from `credit.records`
and `credit.subjects`. It holds only what may be published: no evidence, no descriptions."""

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import JSON, Column, Index, LargeBinary, text
from sqlmodel import Field, SQLModel

from services.common.messaging import messaging_tables


class PublicRecord(SQLModel, table=True):
    __tablename__ = "publication_record"
    # Partial, so it serves only the blacklist: a plain (severity, status, region) index was picked
    # by generic plans for "this subject's records in force" and scanned every record in force.
    __table_args__ = (
        Index(
            "ix_publication_record_blacklist",
            "region",
            postgresql_where=text("severity = 'serious' AND status = 'in_force'"),
            sqlite_where=text("severity = 'serious' AND status = 'in_force'"),
        ),
    )

    record_id: str = Field(primary_key=True, max_length=64)
    version: int
    subject_key: str = Field(index=True, max_length=80)
    subject_type: str = Field(max_length=20)
    subject_id: str = Field(max_length=64)
    subject_name: str = Field(max_length=200)
    behaviour_code: str = Field(max_length=20)
    severity: str = Field(max_length=10)
    behaviour_text: str | None = None
    legal_basis: str | None = None
    region: str = Field(max_length=6)
    project: dict = Field(sa_column=Column(JSON, nullable=False))
    occurred_on: date
    recorded_on: date
    valid_until: date
    status: str = Field(max_length=20)
    determination: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime


class PublicSubject(SQLModel, table=True):
    __tablename__ = "publication_subject"

    subject_key: str = Field(primary_key=True, max_length=80)
    subject_type: str = Field(max_length=20)
    subject_id: str = Field(max_length=64)
    version: int
    snapshot: dict = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime


class PublicCreditView(SQLModel, table=True):
    """The serialised answer of GET /v1/credit for one subject (see views.py)."""

    __tablename__ = "publication_credit_view"

    subject_key: str = Field(primary_key=True, max_length=80)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime


class PublicExpertStanding(SQLModel, table=True):
    """Whether an expert may be drawn, from `credit.experts` (never the score: that is for finance
    and the expert only)."""

    __tablename__ = "publication_expert"

    expert_id: str = Field(primary_key=True, max_length=64)
    version: int
    standing: dict = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime


MESSAGING = messaging_tables("publication")
# Alembic revisions of these tables (services.common.migrations runs them at start).
MIGRATIONS = Path(__file__).parent / "migrations"
TABLES = [
    PublicRecord.__table__,  # type: ignore[attr-defined]
    PublicSubject.__table__,  # type: ignore[attr-defined]
    PublicCreditView.__table__,  # type: ignore[attr-defined]
    PublicExpertStanding.__table__,  # type: ignore[attr-defined]
    *MESSAGING.all,
]
