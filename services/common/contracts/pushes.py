"""`credit.pushes` (added, issue 17): how each push of a publication or withdrawal to a national
platform ended (001 Art. 21: 中国政府采购网, 信用中国, the same-level public credit information
system). One event per push, written by the publication service in the transaction that stores the
push's final state; nothing while attempts are still going on (`failing`, `escalated`).

Two types rather than one `push.attempted.v1` with an outcome: an event says something that is true
for good, and an attempt is not (the next one may succeed); each type names only the fields that are
true for it (`delivered_at`; the failure's `state` and `reason`); and a consumer that cares only
about failures (an operator's alerting) subscribes to the one type.

Its own topic rather than `credit.notices`: these are operational facts about the system's delivery,
not notices for the portals that read `credit.notices` (they carry the platform's last error), and
a topic with one reader can have that reader answer for it (dead-letter what is malformed or
unknown there, `owners.py`) without making it answer for every notice type."""

from typing import Literal

from services.common.contracts.base import OutboundData, contract
from services.common.topics import PUSHES


class PushOutcome(OutboundData):
    """What both outcomes say about the push (its row in `publication_push`, without the subject)."""

    idempotency_key: str  # {platform}:{record}:v{n} — the key the platform received
    platform: str  # procurement | credit | public_credit
    action: str  # publish | withdraw
    region: str  # the record's region
    notice_id: str
    record_id: str | None = None
    attempts: int
    task_id: str | None = None  # the push_failure task, when the attempts had to be escalated
    state: str  # the push's final state, as /v1/pushes shows it


class PushDelivered(PushOutcome):
    """The platform accepted the push (a 2xx answer), after `attempts` attempts."""

    state: Literal["delivered"]
    delivered_at: str


class PushFailed(PushOutcome):
    """The push ended without the platform accepting it: `acknowledged` — the attempts gave up and
    an officer closed the push_failure task (dealt with outside the system); `not_configured` — no
    endpoint is configured for the platform, so it was never sent."""

    state: Literal["acknowledged", "not_configured"]
    # Why, as /v1/pushes shows it: `acknowledged`, the officer's reason for closing the task;
    # `not_configured`, "no endpoint configured".
    reason: str | None = None
    failed_at: str


PUSH_DELIVERED = contract(
    "push.delivered.v1", PUSHES, PushDelivered, "outbound", "A national platform accepted a push."
)
PUSH_FAILED = contract(
    "push.failed.v1",
    PUSHES,
    PushFailed,
    "outbound",
    "A push to a national platform ended undelivered (closed by an officer after the attempts gave up, "
    "or no endpoint configured).",
)

CONTRACTS = (PUSH_DELIVERED, PUSH_FAILED)
