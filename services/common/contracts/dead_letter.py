"""`credit.dead-letter` (CONTRACT §1): every input the system could not accept, with a reason code
(services/common/deadletter.py writes them)."""

from typing import Any

from services.common.contracts.base import OutboundData, contract
from services.common.topics import DEAD_LETTER


class EventRejected(OutboundData):
    reason: str  # machine-readable: malformed_event, unknown_type, invalid_data, not_authorised, ...
    message: str  # for the sender's operators
    original: dict[str, Any]  # the input as received, redacted and bounded (dead_original.py)
    original_sha256: str | None = None
    error_class: str | None = None  # for processing_failed: the class of the error that refused it


EVENT_REJECTED = contract(
    "event.rejected.v1", DEAD_LETTER, EventRejected, "outbound", "An input was refused; `reason` says why."
)

CONTRACTS = (EVENT_REJECTED,)
