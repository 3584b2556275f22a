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

CONTRACTS = (NOTICE_PUBLISHED, LEDGER_CHECKPOINT_PUBLISHED)
