"""`credit.notices` (CONTRACT §1): published credit notices and blacklists, and the signed
checkpoints of the append-only ledger (added)."""

from typing import Any

from services.common.contracts.base import OutboundData, contract
from services.common.topics import NOTICES


class NoticePublished(OutboundData):
    notice_id: str
    kind: str
    region: str
    period: dict[str, Any] | None = None
    published_at: str
    entries: list[dict[str, Any]]
    withdrawals: list[dict[str, Any]] = []


class LedgerCheckpoint(OutboundData):
    log: str
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    signature: str
    public_key: str | None = None


class EvaluationPublished(OutboundData):
    """Issue 15: a subject's yearly result, published after the officer's review (every line with its
    source, the officers' entries with their reasons)."""

    kind: str
    subject_id: str
    region: str
    period: str
    policy: str
    total: float
    grade: str
    interview: bool
    lines: list[dict[str, Any]]
    reviewed_by: str
    published_at: str


NOTICE_PUBLISHED = contract(
    "notice.published.v1", NOTICES, NoticePublished, "outbound", "A credit notice was published."
)
LEDGER_CHECKPOINT_PUBLISHED = contract(
    "ledger.checkpoint.published.v1",
    NOTICES,
    LedgerCheckpoint,
    "outbound",
    "A signed checkpoint of the record ledger (tamper evidence).",
)

EVALUATION_PUBLISHED = contract(
    "evaluation.published.v1",
    NOTICES,
    EvaluationPublished,
    "outbound",
    "An agency's evaluation or a purchaser's assessment was published after review (issue 15).",
)

CONTRACTS = (NOTICE_PUBLISHED, LEDGER_CHECKPOINT_PUBLISHED, EVALUATION_PUBLISHED)
