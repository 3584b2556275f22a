"""Activities of the expert-standing workflow (001 Art. 25; 000 §三.3): publishing a standing
change on `credit.experts` through the outbox, and notifying the expert's employer over HTTP."""

from datetime import UTC, datetime

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.cloudevents import build_event
from services.common.messaging import OutboundEvent, write_outbox
from services.common.relay import OutboxRelay
from services.common.sql import upsert_rows
from services.common.tables import table_of
from services.common.topics import EXPERTS, event_type
from services.evaluation.events import SOURCE
from services.evaluation.models import MESSAGING, EmployerNotification, ExpertStandingRow
from workflows.activity_names import NOTIFY_EMPLOYER, PUBLISH_EXPERT_STANDING
from workflows.expert_standing.inputs import EmployerNotice, StandingChanged

log = structlog.get_logger(__name__)
STANDING_T = table_of(ExpertStandingRow)
NOTICES_T = table_of(EmployerNotification)


async def publish_standing(engine: AsyncEngine, change: StandingChanged) -> bool:
    """Store the standing and owe its event, once per standing version (a retried activity finds
    the version stored and writes nothing). Returns whether anything was written."""
    standing = change.standing
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        stored = await conn.scalar(select(STANDING_T.c.version).where(STANDING_T.c.expert_id == change.expert_id))
        if stored is not None and stored >= standing.version:
            return False
        data = {
            "expert": {"id": change.expert_id, "name": change.expert_name},
            "region": change.region,
            "status": standing.status,
            "may_be_drawn": standing.status == "drawable",
            "suspended_until": standing.suspended_until.isoformat() if standing.suspended_until else None,
            "reasons": [r.model_dump(mode="json") for r in standing.reasons],
            "score": standing.score,
            "version": standing.version,
            "cause": change.cause,
        }
        await upsert_rows(
            conn,
            STANDING_T,
            [
                {
                    "expert_id": change.expert_id,
                    "region": change.region,
                    "version": standing.version,
                    "standing": standing.model_dump(mode="json"),
                    "updated_at": now,
                }
            ],
            key=["expert_id"],
            only_if_newer="version",
        )
        if change.event is None:
            return True
        event = build_event(
            type=event_type(change.event),
            source=SOURCE,
            subject=f"expert:{change.expert_id}",
            # Not "expert:{id}:v{n}": that is the id of the subject-status events of the same source.
            id=f"expert-standing:{change.expert_id}:v{standing.version}",
            time=now,
            data=data,
        )
        await write_outbox(conn, MESSAGING.outbox, [OutboundEvent(topic=EXPERTS, key=change.expert_id, event=event)])
    return True


async def notify_employer(engine: AsyncEngine, notice: EmployerNotice, url: str | None) -> str:
    """POST the notice with an Idempotency-Key; any failure raises so Temporal retries it. Every
    attempt and its outcome is in evaluation_employer_notification."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        row = (
            await conn.execute(select(NOTICES_T).where(NOTICES_T.c.idempotency_key == notice.idempotency_key))
        ).first()
    if row is not None and row.status == "delivered":
        return "delivered"
    attempts = (row.attempts if row is not None else 0) + 1
    status, error, delivered_at = "no_endpoint", None, None
    if url:
        try:
            async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
                response = await client.post(
                    url,
                    json=notice.model_dump(mode="json"),
                    headers={"Idempotency-Key": notice.idempotency_key},
                )
            if response.is_success:
                status, delivered_at = "delivered", now
            else:
                status, error = "failing", f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            status, error = "failing", f"{type(exc).__name__}: {exc}"[:500]
    async with engine.begin() as conn:
        await upsert_rows(
            conn,
            NOTICES_T,
            [
                {
                    "idempotency_key": notice.idempotency_key,
                    "expert_id": notice.expert_id,
                    "record_id": notice.record_id,
                    "attempts": attempts,
                    "status": status,
                    "last_error": error,
                    "last_attempt_at": now,
                    "delivered_at": delivered_at,
                }
            ],
            key=["idempotency_key"],
        )
    if status == "failing":
        raise ApplicationError(f"employer notification failed: {error}")
    if status == "no_endpoint":
        log.warning("no employer-notification endpoint configured", expert_id=notice.expert_id)
    return status


class ExpertActivities:
    def __init__(self, engine: AsyncEngine, *, employer_url: str | None, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self._url = employer_url
        self._relay = relay

    @activity.defn(name=PUBLISH_EXPERT_STANDING)
    async def publish_expert_standing(self, change: StandingChanged) -> bool:
        written = await publish_standing(self._engine, change)
        if written and self._relay is not None:
            self._relay.wake()
        return written

    @activity.defn(name=NOTIFY_EMPLOYER)
    async def notify_employer(self, notice: EmployerNotice) -> str:
        return await notify_employer(self._engine, notice, self._url)
