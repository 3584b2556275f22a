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


class ReportPublished(OutboundData):
    """A region's annual credit report (issue 17), published once a supervisor approved it: where to
    fetch the PDF and its SHA-256, with the year's summary figures."""

    report_id: str
    region: str
    year: int
    published_at: str
    url: str
    sha256: str
    summary: dict[str, Any] = {}


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

REPORT_PUBLISHED = contract(
    "report.published.v1",
    NOTICES,
    ReportPublished,
    "outbound",
    "A region's annual credit report was reviewed by a supervisor and published (the PDF over HTTP).",
)

CONTRACTS = (NOTICE_PUBLISHED, LEDGER_CHECKPOINT_PUBLISHED, REPORT_PUBLISHED)
