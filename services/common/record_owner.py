"""Asking the owner of the records (the evaluation service) about a record the replica has not
heard of yet (issue 23).

The appeal and repair services judge applications against their replicas of `credit.records`,
which lag behind the evaluation service by however long their consumers take — seconds after a
start or under a burst. A subject acts on the record it was just told of, so "not in my replica"
is not "no such record": before refusing, the service asks the owner (one GET, short timeout),
and stores the answer in its replica exactly as the event would have (same data, same version; the
replica keeps the newer version whichever arrives first, so the later event changes nothing).
The owner's "no such record" is a 404 at once; an owner that does not answer is
`OwnerUnavailable`, which the HTTP path answers with a retryable 503 and the Kafka path with a
redelivery — never with "no record"."""

import asyncio
from urllib.parse import quote

import httpx
import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.inbound import Inbound
from services.common.outages import while_database_down
from services.common.problems import Problem
from services.common.record_replica import replica_row
from services.common.service_auth import mint_service_token
from services.common.settings import Settings
from services.common.sql import key_in

log = structlog.get_logger(__name__)
ASKED = Counter(
    "credit_replica_owner_asked_total",
    "Records the replica lacked and the owner was asked about, by answer (found, not_found, unavailable)",
    ["service", "outcome"],
)
OWNER_SECONDS = Histogram("credit_replica_owner_seconds", "Time the owner took to answer about one record", ["service"])
PARALLEL = 8


class OwnerUnavailable(Exception):
    """The owner did not answer (down, timed out, or an answer that is not about the record)."""


class RecordOwner:
    def __init__(
        self,
        service: str,
        *,
        base_url: str,
        secret: str,
        timeout: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service = service
        self._secret = secret
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout), trust_env=False, transport=transport
        )

    @classmethod
    def from_settings(cls, service: str, settings: Settings) -> "RecordOwner":
        return cls(
            service,
            base_url=settings.credit_evaluation_url,
            secret=settings.credit_jwt_secret,
            timeout=settings.credit_owner_timeout_seconds,
        )

    async def fetch(self, record_id: str) -> dict | None:
        """The record's event `data` as the owner has it now; None if the owner has no such record."""
        token = mint_service_token(self.service, secret=self._secret)
        try:
            with OWNER_SECONDS.labels(self.service).time():
                r = await self._client.get(
                    f"/internal/v1/records/{quote(record_id, safe='')}", headers={"Authorization": f"Bearer {token}"}
                )
        except httpx.HTTPError as exc:
            ASKED.labels(self.service, "unavailable").inc()
            raise OwnerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if r.status_code == 200:
            try:
                data = r.json()["data"]
            except (ValueError, KeyError, TypeError) as exc:
                # An answer that is not about the record is the owner's fault, never the message's:
                # waited out like an owner that does not answer (issue 21), not dead-lettered.
                ASKED.labels(self.service, "unavailable").inc()
                raise OwnerUnavailable(f"the owner's answer is not a record: {exc!r}") from exc
            ASKED.labels(self.service, "found").inc()
            return data
        # Only the owner's own "no such record" means that; a 404 of a proxy or of an older
        # evaluation without this endpoint does not.
        if r.status_code == 404 and _code(r) == "record_not_found":
            ASKED.labels(self.service, "not_found").inc()
            return None
        ASKED.labels(self.service, "unavailable").inc()
        raise OwnerUnavailable(f"the owner answered {r.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()


def _code(r: httpx.Response) -> str | None:
    try:
        return r.json().get("code")
    except ValueError:
        return None


async def rows_from_owner(engine: AsyncEngine, table: Table, owner: RecordOwner, record_ids: list[str]) -> list[dict]:
    """Replica rows, from the owner, of the records among `record_ids` the replica lacks (those the
    owner does not know either are left out: the caller's rules refuse them as not found). Asked
    before the caller's transaction, so no lock is held while waiting. OwnerUnavailable if any
    answer is missing."""
    wanted = sorted(set(record_ids))
    if not wanted:
        return []
    async with engine.connect() as conn:
        q = select(table.c.record_id).where(key_in(conn, table.c.record_id, wanted))
        known = set((await conn.execute(q)).scalars())
    missing = [rid for rid in wanted if rid not in known]
    if not missing:
        return []
    slots = asyncio.Semaphore(PARALLEL)

    async def one(record_id: str) -> dict | None:
        async with slots:
            return await owner.fetch(record_id)

    found = await asyncio.gather(*(one(rid) for rid in missing))
    rows = []
    for rid, data in zip(missing, found, strict=True):
        if data is None:
            continue
        try:
            rows.append(replica_row(data))
        except (KeyError, TypeError, ValueError) as exc:
            raise OwnerUnavailable(f"the owner's answer about {rid} is not a record: {exc!r}") from exc
    log.info("replica lacked records; the owner was asked", service=owner.service, asked=len(missing), found=len(rows))
    return rows


RETRY_AFTER_SECONDS = 2


def not_yet_known(record_id: str, exc: OwnerUnavailable) -> Problem:
    """What an HTTP applicant hears when neither the replica nor the owner could say: try again
    shortly (503 with Retry-After), never "no record" — the record may well exist."""
    problem = Problem(
        503,
        "record_not_yet_known",
        "Record not yet known here",
        f"record {record_id} has not reached this service yet and the records service did not answer; "
        f"send the same request again (with the same Idempotency-Key) in {RETRY_AFTER_SECONDS} s",
        values={"record_id": record_id},
        retry_after_seconds=RETRY_AFTER_SECONDS,
    )
    problem.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    log.warning("owner of the records unavailable", record_id=record_id, error=str(exc)[:300])
    return problem


def record_ids_of(items: list[Inbound]) -> list[str]:
    """The record ids named by parsed applications (what is malformed is for the rules to refuse)."""
    ids = []
    for item in items:
        data = item.envelope.data if item.envelope is not None else None
        rid = data.get("record_id") if isinstance(data, dict) else None
        if isinstance(rid, str) and 0 < len(rid) <= 64:
            ids.append(rid)
    return ids


async def rows_for_batch(
    engine: AsyncEngine, table: Table, owner: RecordOwner, items: list[Inbound], *, pause: float
) -> list[dict]:
    """rows_from_owner for a consumed batch of applications. If the owner does not answer, the
    batch fails after `pause` seconds, to be consumed again (NACK): held, never refused as unknown,
    and an owner that is down is not asked in a tight loop. A database outage while reading the
    replica is waited out (`while_database_down`), never taken for the message's fault."""

    async def ask() -> list[dict]:
        return await rows_from_owner(engine, table, owner, record_ids_of(items))

    try:
        return await while_database_down(f"{owner.service} replica lookup", ask)
    except OwnerUnavailable:
        await asyncio.sleep(pause)
        raise
