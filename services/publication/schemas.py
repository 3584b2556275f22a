"""Response models of the public endpoints, for the OpenAPI document."""

from pydantic import BaseModel


class PublicSubjectRef(BaseModel):
    type: str
    id: str
    name: str | None


class PublicRecordOut(BaseModel):
    record_id: str
    behaviour_code: str
    behaviour: str | None
    legal_basis: str | None
    references: list[str] = []
    severity: str
    region: str
    project: dict
    occurred_on: str
    recorded_on: str
    valid_until: str
    status: str
    determination: dict | None
    under_objection: bool = False
    subject: PublicSubjectRef


class ExpertStanding(BaseModel):
    removed: bool
    may_be_drawn: bool
    not_drawable_until: str | None
    status: str | None = None
    training_required: bool | None = None


class GoodCredit(BaseModel):
    """000 §三.2, suppliers only: decided on the day it is asked (see goodcredit.py)."""

    eligible: bool | None  # None: a subject never heard of (reason no_record)
    free_bid_guarantee: bool | None  # 000 §三.2: granted by the finance department
    bond_reduction: bool | None  # 000 §三.2: the purchaser reduces the performance bond 根据项目实际
    bond_reduction_percent: int | None = None  # only where the region's policy sets one
    bond_reduction_source: str | None = None
    deposits_forbidden: bool | None = None  # the region's policy forbids deposits at all
    deposits_forbidden_source: str | None = None
    policy_region: str | None = None  # the project's region whose policy was applied (?region=)
    # The first day good credit returns if nothing changes (a repair may bring it sooner).
    eligible_from: str | None = None
    reason: str | None = None  # record_in_force | recent_record | no_record


class CreditStatus(BaseModel):
    subject: PublicSubjectRef
    # clean | general_record | blacklisted | no_record (never heard of: `known` false, grade no_record)
    status: str
    grade: str
    known: bool = True
    may_participate: bool
    blacklisted: bool
    blacklisted_until: str | None
    records_in_force: list[PublicRecordOut]
    status_version: int
    as_of: str
    # Issue 14: credit commitments found false and recorded ({commitment_id, kind, made_on, record_id}).
    commitments_breached: list[dict] = []
    expert: ExpertStanding | None = None
    good_credit: GoodCredit | None = None
    # One line in Chinese to paste into a bid file, e.g. 禁止参加政府采购活动至2029-11-24，依据… (issue 22).
    summary_zh: str | None = None


class CreditSearch(BaseModel):
    """Subjects with published records whose name contains `name`, each with its answer today."""

    name: str
    total: int
    items: list[CreditStatus]
    as_of: str


class ConsortiumStatus(BaseModel):
    """财库〔2016〕125号: a consortium's credit is the worst of its members'."""

    consortium: bool = True
    member_ids: list[str]
    status: str
    grade: str
    may_participate: bool
    blacklisted: bool
    blacklisted_until: str | None
    good_credit: GoodCredit
    members: list[CreditStatus]
    as_of: str


class Blacklist(BaseModel):
    """Serious-behaviour records in force, newest first."""

    total: int
    limit: int
    offset: int
    entries: list[PublicRecordOut]
    as_of: str


class ReceiptBody(BaseModel):
    """What is signed: the answer as read, and the ledger checkpoint it was read at."""

    version: int
    kind: str
    basis: str
    subject: dict
    region: str | None
    issued_at: str
    answer: CreditStatus
    ledger_checkpoint: dict | None
    ledger_checkpoint_unavailable: str | None = None


class CreditReceipt(BaseModel):
    """The credit answer signed with the system's Ed25519 key (services/common/receipts.py); verify it
    offline with `python -m services.common.receipts RECEIPT.json --public-key KEY`."""

    receipt: ReceiptBody
    alg: str
    key_id: str
    public_key: str
    signature: str


class PublishedNotice(BaseModel):
    """A published notice with the entries still shown (taken-down entries are counted, not shown)."""

    notice_id: str
    kind: str
    region: str
    period: str | dict | None
    published_at: str
    entries: list[dict]
    entries_published: int
    entries_taken_down: int
    withdrawals: list[dict] = []


class NoticePage(BaseModel):
    total: int
    limit: int
    offset: int
    notices: list[PublishedNotice]


class Pushes(BaseModel):
    """The pushes of a record or notice to the national platforms, with their attempts."""

    record_id: str | None
    notice_id: str | None
    region: str | None
    pushes: list[dict]
