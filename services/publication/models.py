"""The publication service's own tables (prefix `publication_`): the read model built from
`credit.records`, `credit.subjects` and `credit.experts`, the notices it published and the pushes to
the national platforms. It holds only what may be published: no evidence, no descriptions."""

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import JSON, Column, Index, LargeBinary, text
from sqlmodel import Field, SQLModel

from services.common.commands import command_table
from services.common.messaging import messaging_tables
from services.common.tables import table_of


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
        # The period notice: the records recorded in a month.
        Index("ix_publication_record_recorded_on", "recorded_on"),
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
    # An appeal is open: still published and in force, shown as under objection (002 (十)).
    under_objection: bool = False
    resolution: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # {kind, decided_on}
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
    """The serialised answer of GET /v1/credit for one subject (see credit_answers.py)."""

    __tablename__ = "publication_credit_view"

    subject_key: str = Field(primary_key=True, max_length=80)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Good credit (000 §三.2), decided when served because it depends on the date (see goodcredit.py).
    guarantee_blocked: bool = False  # a record is in force
    guarantee_after: date | None = None  # the last day a recent record still disqualifies
    bond_reduction_percent: int | None = None  # None: not a supplier (no good-credit answer)
    updated_at: datetime


class PublicExpertStanding(SQLModel, table=True):
    """Whether an expert may be drawn, from `credit.experts` (never the score: that is for finance
    and the expert only)."""

    __tablename__ = "publication_expert"

    expert_id: str = Field(primary_key=True, max_length=64)
    version: int
    standing: dict = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime


class PublicNotice(SQLModel, table=True):
    """A published notice (001 Art. 21): `period` (the general records of a period, per region),
    `blacklist` (a serious record, at once) or `blacklist_removal` (it left the blacklist)."""

    __tablename__ = "publication_notice"
    __table_args__ = (Index("ix_publication_notice_newest", "published_at", "notice_id"),)

    notice_id: str = Field(primary_key=True, max_length=120)
    kind: str = Field(max_length=20)
    region: str = Field(index=True, max_length=6)
    period_start: date | None = None
    period_end: date | None = None
    cadence: str | None = Field(default=None, max_length=20)
    published_at: datetime
    entry_count: int
    withdrawal_count: int
    body: dict = Field(sa_column=Column(JSON, nullable=False))  # the data of notice.published.v1


class PublicNoticeEntry(SQLModel, table=True):
    """Which records a notice listed (`listed`) or took down (`withdrawn`). Served entries are the
    records' current public rows, so what left force comes down from old notices too."""

    __tablename__ = "publication_notice_entry"

    notice_id: str = Field(primary_key=True, max_length=120)
    record_id: str = Field(primary_key=True, index=True, max_length=64)
    role: str = Field(max_length=10)
    region: str = Field(max_length=6)  # the notice's region, so withdrawals are found per region


class PushDelivery(SQLModel, table=True):
    """One push of a publication or withdrawal to one national platform, and how it went. The row is
    written with the change it reports, with the command that starts its workflow (`started_at`)."""

    __tablename__ = "publication_push"
    __table_args__ = (
        Index(
            "ix_publication_push_unstarted",
            "created_at",
            postgresql_where=text("started_at IS NULL"),
            sqlite_where=text("started_at IS NULL"),
        ),
    )

    idempotency_key: str = Field(primary_key=True, max_length=200)  # {platform}:{record}:v{n} | {platform}:{notice}
    platform: str = Field(max_length=20)
    action: str = Field(max_length=10)  # publish | withdraw
    notice_id: str = Field(index=True, max_length=120)
    record_id: str | None = Field(default=None, index=True, max_length=64)
    region: str = Field(max_length=6)
    subject: dict = Field(sa_column=Column(JSON, nullable=False))
    payload: dict = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=20)  # pending | failing | escalated | delivered | acknowledged | not_configured
    attempts: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    task_id: str | None = Field(default=None, max_length=220)
    created_at: datetime
    started_at: datetime | None = None


MESSAGING = messaging_tables("publication")
# Push workflows to start (services/publication/commands.py), delivered by the command relay.
COMMANDS = command_table("publication")
# Alembic revisions of these tables (services.common.migrations runs them at start).
MIGRATIONS = Path(__file__).parent / "migrations"
TABLES = [
    table_of(PublicRecord),
    table_of(PublicSubject),
    table_of(PublicCreditView),
    table_of(PublicExpertStanding),
    table_of(PublicNotice),
    table_of(PublicNoticeEntry),
    table_of(PushDelivery),
    COMMANDS,
    *MESSAGING.all,
]
