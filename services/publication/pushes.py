"""Pushes to the national platforms (001 Art. 21): the input of the PushWorkflow of each push row
(started through the command outbox: commands.py), and one attempt of the HTTP call and the states
of a push (the workflow's activities).

A push that reaches a final state owes its outcome on `credit.pushes` (`push.delivered.v1`, or
`push.failed.v1` for `acknowledged` and `not_configured`; contracts/pushes.py), written to the outbox
in the transaction that stores that state, and only by the update that moved the row out of a
non-final state — so a retried activity or two attempts racing emit it once. `failing` and
`escalated` (attempts still going on) owe nothing."""

from datetime import UTC, datetime

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio.exceptions import ApplicationError

from services.common.cloudevents import build_event
from services.common.contracts.pushes import PUSH_DELIVERED, PUSH_FAILED
from services.common.lawdates import local_date
from services.common.messaging import OutboundEvent, write_outbox
from services.common.metrics import PUSHES_FAILED
from services.common.policy import policy_for
from services.common.settings import Settings
from services.common.tables import table_of
from services.common.topics import PUSHES
from services.publication.models import MESSAGING, PushDelivery
from workflows.pushes.inputs import PushInput, PushStatus

log = structlog.get_logger(__name__)
PUSHES_T = table_of(PushDelivery)
FINAL = frozenset({"delivered", "acknowledged", "not_configured"})
SOURCE = "urn:credit:publication"
OUTCOME_FIELDS = ("idempotency_key", "platform", "action", "region", "notice_id", "record_id", "attempts", "task_id")


def platform_urls(settings: Settings) -> dict[str, str | None]:
    return {
        "procurement": settings.credit_national_procurement_url,
        "credit": settings.credit_national_credit_url,
        "public_credit": settings.credit_public_credit_url,
    }


def push_input(row: dict, settings: Settings) -> PushInput:
    policy = policy_for(row["region"], local_date(datetime.now(UTC)))
    return PushInput(
        idempotency_key=row["idempotency_key"],
        platform=row["platform"],
        action=row["action"],
        region=row["region"],
        notice_id=row["notice_id"],
        record_id=row["record_id"],
        subject=row["subject"],
        escalation_seconds=settings.credit_push_escalation_seconds or policy.publication.push_escalation_hours * 3600,
        task_due_working_days=policy.publication.push_task_due_working_days,
        reminder_working_days_before=policy.tasks.reminder_working_days_before,
        escalation_working_days_after=policy.tasks.escalation_working_days_after,
    )


def status_of(row: dict) -> PushStatus:
    return PushStatus(
        idempotency_key=row["idempotency_key"],
        state=row["state"],
        attempts=row["attempts"],
        last_error=row["last_error"],
    )


async def deliver(engine: AsyncEngine, key: str, urls: dict[str, str | None]) -> PushStatus:
    """One attempt: POST the payload with its Idempotency-Key; raises on failure so Temporal retries.
    Attempts, the last error and the delivery time are stored either way."""
    async with engine.connect() as conn:
        found = (await conn.execute(select(PUSHES_T).where(PUSHES_T.c.idempotency_key == key))).first()
    if found is None:
        raise ApplicationError(f"no push {key!r}", non_retryable=True)
    row = dict(found._mapping)
    if row["state"] in FINAL:
        return status_of(row)
    now = datetime.now(UTC)
    url = urls.get(row["platform"])
    changes: dict = {"attempts": row["attempts"] + 1, "last_attempt_at": now}
    if not url:
        log.warning("no endpoint configured for the national platform", platform=row["platform"], key=key)
        changes |= {"state": "not_configured", "last_error": "no endpoint configured"}
    else:
        try:
            async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
                response = await client.post(url, json=row["payload"], headers={"Idempotency-Key": key})
            error = None if response.is_success else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        if error is None:
            changes |= {"state": "delivered", "delivered_at": now, "last_error": None}
        else:
            # An open task stays visible as such while the attempts go on.
            changes |= {"state": "escalated" if row["state"] == "escalated" else "failing", "last_error": error}
            PUSHES_FAILED.labels(row["platform"]).inc()
    async with engine.begin() as conn:
        stored = await _store(conn, key, changes, now)
    if stored is None:  # another attempt or an officer settled it meanwhile: that state stays
        return await _current(engine, key)
    if stored["state"] in ("failing", "escalated"):
        raise ApplicationError(f"push to {stored['platform']} failed: {stored['last_error']}")
    return status_of(stored)


def outcome_event(row: dict, now: datetime) -> OutboundEvent:
    """The push's final outcome as its event (one id per push: it ends once). `now` is the moment
    the final state was stored (the delivery time of a delivered push)."""
    data: dict = {k: row[k] for k in OUTCOME_FIELDS} | {"state": row["state"]}
    if row["state"] == "delivered":
        contract = PUSH_DELIVERED
        data["delivered_at"] = now.isoformat()
    else:
        contract = PUSH_FAILED
        data |= {"reason": row["last_error"], "failed_at": now.isoformat()}
    event = build_event(
        type=contract.type,
        source=SOURCE,
        subject=row["idempotency_key"],
        id=f"push:{row['idempotency_key']}:{row['state']}",
        time=now,
        data=contract.model.model_validate(data).model_dump(mode="json"),
    )
    return OutboundEvent(topic=PUSHES, key=row["idempotency_key"], event=event)


async def _store(conn: AsyncConnection, key: str, values: dict, now: datetime) -> dict | None:
    """Apply `values` to a push not yet final; when they make it final, owe its outcome in the same
    transaction. None when the push was final already (nothing changed, nothing owed)."""
    changed = (
        await conn.execute(
            update(PUSHES_T)
            .where(PUSHES_T.c.idempotency_key == key, PUSHES_T.c.state.not_in(list(FINAL)))
            .values(**values)
            .returning(*PUSHES_T.c)
        )
    ).first()
    if changed is None:
        return None
    row = dict(changed._mapping)
    if row["state"] in FINAL:
        await write_outbox(conn, MESSAGING.outbox, [outcome_event(row, now)])
    return row


async def _current(engine: AsyncEngine, key: str) -> PushStatus:
    async with engine.connect() as conn:
        row = (await conn.execute(select(PUSHES_T).where(PUSHES_T.c.idempotency_key == key))).first()
    if row is None:
        raise ApplicationError(f"no push {key!r}", non_retryable=True)
    return status_of(dict(row._mapping))


async def set_state(engine: AsyncEngine, key: str, **values: str | None) -> PushStatus:
    """Escalated or acknowledged, unless it was delivered meanwhile (that stays). Acknowledged is
    final: its `push.failed.v1` goes out with it."""
    async with engine.begin() as conn:
        stored = await _store(conn, key, values, datetime.now(UTC))
    return status_of(stored) if stored is not None else await _current(engine, key)
