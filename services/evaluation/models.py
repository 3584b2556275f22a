"""Tables owned by the evaluation service (prefix `evaluation_`)."""

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from services.common.commands import command_table
from services.common.messaging import messaging_tables
from services.common.tables import table_of


class CreditRecord(SQLModel, table=True):
    """A credit record in its current version; every version is kept in `RecordVersion`."""

    __tablename__ = "evaluation_record"
    __table_args__ = (
        UniqueConstraint("source", "source_event_id", name="uq_evaluation_record_source_event"),
        # Partial for the same reason as publication's blacklist index: only the expiry sweep uses it.
        Index(
            "ix_evaluation_record_due",
            "valid_until",
            postgresql_where=text("status = 'in_force'"),
            sqlite_where=text("status = 'in_force'"),
        ),
    )

    id: str = Field(primary_key=True, max_length=64)
    subject_key: str = Field(index=True, max_length=80)
    subject_type: str = Field(max_length=20)
    subject_id: str = Field(max_length=64)
    subject_name: str = Field(max_length=200)
    behaviour_code: str = Field(max_length=20)
    severity: str = Field(max_length=10)
    region: str = Field(max_length=6)
    reporter_type: str = Field(max_length=20)
    reporter_id: str = Field(max_length=64)
    reporter_name: str = Field(max_length=200)
    project: dict = Field(sa_column=Column(JSON, nullable=False))
    occurred_on: date
    recorded_on: date
    recorded_at: datetime
    valid_until: date
    status: str = Field(max_length=20)
    version: int
    description: str
    evidence: list = Field(sa_column=Column(JSON, nullable=False))
    determination: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    policy_version: str = Field(max_length=40)
    source: str = Field(max_length=300)
    source_event_id: str = Field(max_length=200)
    # The officer (token sub) who recorded it, when known: the reviewer of an appeal must be another.
    recorded_by: str | None = Field(default=None, max_length=200)
    # An open objection {appeal_id, state, filed_at}: the record stays in force meanwhile.
    appeal: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The last decision on it {kind, decided_on, reason, opinion, by, ...}; every one stays in the history.
    resolution: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class RecordVersion(SQLModel, table=True):
    """Append-only history of a record: one row per change, chained by hash."""

    __tablename__ = "evaluation_record_history"
    __table_args__ = (UniqueConstraint("record_id", "version", name="uq_evaluation_history_version"),)

    seq: int | None = Field(default=None, primary_key=True)
    # Indexed by uq_evaluation_history_version (record_id, version); no second index needed.
    record_id: str = Field(max_length=64)
    version: int
    change: str = Field(max_length=20)
    at: datetime
    actor: str = Field(max_length=200)
    snapshot: dict = Field(sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class LedgerEntry(SQLModel, table=True):
    """The tamper-evident ledger (002 (十二)): one leaf per record version, in commit order, the
    leaves of an RFC 9162 Merkle tree whose signed checkpoints are published outside the database.
    Append-only: the database refuses UPDATE, DELETE and TRUNCATE (migration 0003)."""

    __tablename__ = "evaluation_ledger"

    seq: int | None = Field(default=None, primary_key=True)  # leaf index + 1
    record_id: str = Field(max_length=64)
    version: int
    change: str = Field(max_length=20)
    entry: str  # canonical JSON, what the leaf hash covers
    leaf_hash: str = Field(max_length=64)


class LedgerCheckpoint(SQLModel, table=True):
    """A signed tree head of the ledger (RFC 9162 §4.10 in spirit): size, root, time, signature;
    published on credit.notices so a copy exists outside the database. `frontier` lets the next
    checkpoint extend the tree without rereading every leaf."""

    __tablename__ = "evaluation_ledger_checkpoint"

    tree_size: int = Field(primary_key=True)
    root_hash: str = Field(max_length=64)
    timestamp: datetime
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=200)
    frontier: list = Field(sa_column=Column(JSON, nullable=False))


class AccessRequest(SQLModel, table=True):
    """A finance officer's request to read a record's evidence, and its approval (002 (十二))."""

    __tablename__ = "evaluation_access_request"

    id: str = Field(primary_key=True, max_length=64)
    record_id: str = Field(index=True, max_length=64)
    requester: str = Field(max_length=200)  # the token's sub
    requester_org: str = Field(max_length=64)
    purpose: str
    state: str = Field(max_length=20)  # pending | approved
    created_at: datetime
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = None
    expires_at: datetime | None = None


class AuditEntry(SQLModel, table=True):
    """Who read which record's evidence, who asked and who approved (002 (十二)); changes of
    records are in their history, which the audit query shows beside these."""

    __tablename__ = "evaluation_audit"

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=200)
    actor_role: str = Field(max_length=20)
    actor_org: str = Field(max_length=64)
    action: str = Field(max_length=30)
    record_id: str = Field(index=True, max_length=64)
    region: str = Field(max_length=6)
    request_id: str | None = Field(default=None, max_length=64)


class SubjectState(SQLModel, table=True):
    """The last status published for a subject, so a change is published once and in order."""

    __tablename__ = "evaluation_subject"

    subject_key: str = Field(primary_key=True, max_length=80)
    subject_type: str = Field(max_length=20)
    subject_id: str = Field(max_length=64)
    version: int
    snapshot: dict = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime


COMMITMENT_ID_LENGTH = 100  # the contract's commitment_id (CommitmentMade.commitment_id)


class SubjectCommitment(SQLModel, table=True):
    """A subject's credit commitment (Shandong (十三), `commitment.made.v1`) for its integrity archive:
    `made`, `breach_found` (`commitment.breached.v1`: a department found it false, a determination is
    asked for) or `breached` (the determination was recorded: `record_id`)."""

    __tablename__ = "evaluation_commitment"

    commitment_id: str = Field(primary_key=True, max_length=COMMITMENT_ID_LENGTH)
    subject_key: str = Field(max_length=80, index=True)
    kind: str = Field(max_length=20)
    text: str
    made_on: date
    project: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    state: str = Field(max_length=20)
    found_on: date | None = None
    finding: str | None = None
    record_id: str | None = Field(default=None, max_length=64)


class CommitmentRecord(SQLModel, table=True):
    """The record a determination made on a commitment's breach, kept when it was recorded before
    the commitment itself reached this service (`commitment.made.v1` is read by a background
    consumer; the officer may decide first). The commitment takes it when it arrives, so the archive
    ends the same whichever came first."""

    __tablename__ = "evaluation_commitment_record"

    commitment_id: str = Field(primary_key=True, max_length=COMMITMENT_ID_LENGTH)
    subject_key: str = Field(max_length=80)  # the record's subject: only its own commitment takes it
    record_id: str = Field(max_length=64)


class DeterminationTask(SQLModel, table=True):
    """A reported serious behaviour waiting for the finance department's determination
    (001 Art. 17): the request and its outcome. Its task (queue, claim, escalation) belongs to the
    casework service, which hears of it through `determination.requested.v1`."""

    __tablename__ = "evaluation_determination_task"
    __table_args__ = (UniqueConstraint("source", "source_event_id", name="uq_evaluation_task_source_event"),)

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(default="determination", max_length=20)
    region: str = Field(max_length=6)
    state: str = Field(max_length=20)
    subject_key: str = Field(max_length=80)
    behaviour_code: str = Field(max_length=20)
    report: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime
    source: str = Field(max_length=300)
    source_event_id: str = Field(max_length=200)
    # The case officer's decision (determine | record_general | dismiss) and the record it made.
    decision: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    record_id: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None


class ExpertStandingRow(SQLModel, table=True):
    """The latest standing of an expert as its workflow published it (score visible to finance and
    the expert; drawability is public through the publication service)."""

    __tablename__ = "evaluation_expert_standing"

    expert_id: str = Field(primary_key=True, max_length=64)
    region: str = Field(max_length=6)
    version: int
    standing: dict = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime


class EmployerNotification(SQLModel, table=True):
    """Audit of each employer notification (001 Art. 25): one row per record version, every attempt counted."""

    __tablename__ = "evaluation_employer_notification"

    idempotency_key: str = Field(primary_key=True, max_length=160)
    expert_id: str = Field(max_length=64)
    record_id: str = Field(max_length=64)
    attempts: int
    status: str = Field(max_length=20)  # delivered | failing | no_endpoint
    last_error: str | None = None
    last_attempt_at: datetime
    delivered_at: datetime | None = None


MESSAGING = messaging_tables("evaluation")
# The command outbox toward Temporal (expert standings: services/evaluation/experts/commands.py).
COMMANDS = command_table("evaluation")
# Alembic revisions of these tables (services.common.migrations runs them at start).
MIGRATIONS = Path(__file__).parent / "migrations"

TABLES = [
    table_of(CreditRecord),
    table_of(RecordVersion),
    table_of(LedgerEntry),
    table_of(LedgerCheckpoint),
    table_of(AccessRequest),
    table_of(AuditEntry),
    table_of(SubjectState),
    table_of(DeterminationTask),
    table_of(SubjectCommitment),
    table_of(CommitmentRecord),
    table_of(ExpertStandingRow),
    table_of(EmployerNotification),
    COMMANDS,
    *MESSAGING.all,
]


def subject_key(subject_type: str, subject_id: str) -> str:
    return f"{subject_type}:{subject_id}"
