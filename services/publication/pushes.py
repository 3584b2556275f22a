"""Pushes to the national platforms (001 Art. 21): the input of the PushWorkflow of each push row
(started through the command outbox: commands.py), and one attempt of the HTTP call and the states
of a push (the workflow's activities)."""

from datetime import UTC, datetime

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from services.common.lawdates import local_date
from services.common.metrics import PUSHES_FAILED
from services.common.policy import policy_for
from services.common.settings import Settings
from services.common.tables import table_of
from services.publication.models import PushDelivery
from workflows.pushes.inputs import PushInput, PushStatus

log = structlog.get_logger(__name__)
PUSHES_T = table_of(PushDelivery)
FINAL = frozenset({"delivered", "acknowledged", "not_configured"})


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
        await conn.execute(update(PUSHES_T).where(PUSHES_T.c.idempotency_key == key).values(**changes))
    row |= changes
    if row["state"] in ("failing", "escalated"):
        raise ApplicationError(f"push to {row['platform']} failed: {row['last_error']}")
    return status_of(row)


async def set_state(engine: AsyncEngine, key: str, **values: str | None) -> PushStatus:
    """Escalated or acknowledged, unless it was delivered meanwhile (that stays)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(PUSHES_T)
            .where(PUSHES_T.c.idempotency_key == key, PUSHES_T.c.state.not_in(list(FINAL)))
            .values(**values)
        )
        row = (await conn.execute(select(PUSHES_T).where(PUSHES_T.c.idempotency_key == key))).first()
    if row is None:
        raise ApplicationError(f"no push {key!r}", non_retryable=True)
    return status_of(dict(row._mapping))
