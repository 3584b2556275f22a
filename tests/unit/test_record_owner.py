"""Issue 23: a replica that has not heard of a record asks its owner (the evaluation service)
before refusing. The service token, the owner client's reading of the answers (with a mocked
transport), and what the appeal and repair paths store and decide with the owner's answer
against a real (SQLite) database — including the later event changing nothing."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.appeal.filing import file_appeals
from services.appeal.models import REPLICA as APPEAL_REPLICA
from services.appeal.models import TABLES as APPEAL_TABLES
from services.common.auth import decode_token, mint_token
from services.common.db import create_tables, make_engine
from services.common.problems import Problem
from services.common.record_owner import (
    OwnerUnavailable,
    RecordOwner,
    not_yet_known,
    record_ids_of,
    rows_from_owner,
)
from services.common.record_replica import get_replica, replica_row, upsert_replica
from services.common.replica_lag import ReplicaClock
from services.common.service_auth import mint_service_token, require_service, verify_service_token
from services.common.settings import get_settings
from services.gateway.routes import routes_from_env
from services.repair.applications import receive
from services.repair.models import COMMANDS, WINDOWS
from services.repair.models import REPLICA as REPAIR_REPLICA
from services.repair.models import TABLES as REPAIR_TABLES
from tests.unit.test_appeal_filing import appeal_item
from tests.unit.test_appeal_filing import record_data as appeal_record_data
from tests.unit.test_repair_service import IN_WINDOW, inbound, record_event, records, repair_request, submit

SECRET = "unit-test-secret-0123456789-0123456789"


# --- the service token ----------------------------------------------------------------------------


def test_a_service_token_names_the_service_and_nothing_else_passes() -> None:
    assert verify_service_token(mint_service_token("appeal", secret=SECRET), secret=SECRET) == "appeal"
    with pytest.raises(Problem) as wrong_secret:
        verify_service_token(mint_service_token("appeal", secret=SECRET), secret=SECRET + "x")
    assert wrong_secret.value.status == 401
    # A person's token (no audience) is not a service's, even with the same secret.
    user = mint_token(sub="u", role="supervisor", org="410300", region="410300", secret=SECRET)
    with pytest.raises(Problem):
        verify_service_token(user, secret=SECRET)
    expired = mint_service_token("appeal", secret=SECRET, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(Problem):
        verify_service_token(expired, secret=SECRET)


def test_a_service_token_opens_no_public_endpoint() -> None:
    with pytest.raises(Problem) as refused:
        decode_token(mint_service_token("repair", secret=SECRET), secret=SECRET)
    assert refused.value.status == 401


# --- the owner client -----------------------------------------------------------------------------

DATA = appeal_record_data("rec-9", "91410300MA0000009X", version=3)


def owner_answering(handler) -> RecordOwner:  # type: ignore[no-untyped-def]
    return RecordOwner("appeal", base_url="http://owner", secret=SECRET, transport=httpx.MockTransport(handler))


async def test_the_owner_is_asked_with_a_service_token_and_its_record_returned() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": DATA})

    owner = owner_answering(handler)
    assert await owner.fetch("rec/9") == DATA
    (request,) = seen
    assert request.url.raw_path == b"/internal/v1/records/rec%2F9"  # an id never becomes a path
    token = request.headers["authorization"].removeprefix("Bearer ")
    assert verify_service_token(token, secret=SECRET) == "appeal"
    await owner.aclose()


async def test_only_the_owners_own_not_found_means_no_record() -> None:
    owner = owner_answering(lambda r: httpx.Response(404, json={"code": "record_not_found", "status": 404}))
    assert await owner.fetch("rec-0") is None
    for answer in (
        httpx.Response(404, json={"detail": "Not Found"}),  # an evaluation without the endpoint
        httpx.Response(502, text="bad gateway"),
        httpx.Response(401, json={"code": "invalid_token"}),
    ):
        with pytest.raises(OwnerUnavailable):
            await owner_answering(lambda r, a=answer: a).fetch("rec-0")


async def test_an_owner_that_does_not_answer_is_unavailable_not_absent() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(OwnerUnavailable):
        await owner_answering(refuse).fetch("rec-0")


async def test_an_owner_answer_that_is_not_a_record_is_unavailable_not_a_poison_message() -> None:
    # Issue 21: a 200 that is not JSON or has no `data` is the owner's fault; it must not escape as
    # a ValueError/KeyError that the consumer would re-read forever or take for the message's.
    for answer in (httpx.Response(200, text="<html>proxy</html>"), httpx.Response(200, json={"record": DATA})):
        with pytest.raises(OwnerUnavailable):
            await owner_answering(lambda r, a=answer: a).fetch("rec-0")


def test_the_http_answer_when_unavailable_is_a_retryable_503() -> None:
    p = not_yet_known("rec-1", OwnerUnavailable("down"))
    assert (p.status, p.code, p.headers["Retry-After"]) == (503, "record_not_yet_known", "2")
    assert p.to_dict()["retry_after_seconds"] == 2


def test_record_ids_are_taken_from_parsed_applications_only() -> None:
    good = appeal_item("rec-1", "91410300MA0000001X")
    odd = appeal_item("", "91410300MA0000001X")
    assert record_ids_of([good, odd]) == ["rec-1"]


# --- the appeal path ------------------------------------------------------------------------------


@pytest.fixture
async def appeal_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'appeal.db'}")
    await create_tables(eng, APPEAL_TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


class FakeOwner:
    """The owner of the records as a dict; counts what it is asked."""

    service = "test"

    def __init__(self, *records: dict, down: bool = False) -> None:
        self.records = {r["record_id"]: r for r in records}
        self.down = down
        self.asked: list[str] = []

    async def fetch(self, record_id: str) -> dict | None:
        self.asked.append(record_id)
        if self.down:
            raise OwnerUnavailable("down")
        return self.records.get(record_id)


NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
SUBJECT = "91410300MA0000001X"
OTHER = "91410300MA0000002X"


async def file_after_asking(engine: AsyncEngine, owner: FakeOwner, item):  # type: ignore[no-untyped-def]
    learned = await rows_from_owner(engine, APPEAL_REPLICA, owner, record_ids_of([item]))  # type: ignore[arg-type]
    async with engine.begin() as conn:
        (outcome,) = await file_appeals(conn, [item], now=NOW, learned=learned)
    return outcome


async def test_an_appeal_before_the_replica_heard_of_the_record_is_filed(appeal_engine: AsyncEngine) -> None:
    owner = FakeOwner(appeal_record_data("rec-1", SUBJECT))
    outcome = await file_after_asking(appeal_engine, owner, appeal_item("rec-1", SUBJECT))
    assert outcome.kind == "filed" and owner.asked == ["rec-1"]
    async with appeal_engine.connect() as conn:
        assert (await get_replica(conn, APPEAL_REPLICA, "rec-1")).version == 1  # type: ignore[union-attr]
    # Now known here: the owner is not asked again.
    await file_after_asking(appeal_engine, owner, appeal_item("rec-1", SUBJECT))
    assert owner.asked == ["rec-1"]


async def test_another_subjects_objection_is_403_whether_or_not_the_replica_has_caught_up(
    appeal_engine: AsyncEngine,
) -> None:
    owner = FakeOwner(appeal_record_data("rec-1", SUBJECT))
    lagging = await file_after_asking(appeal_engine, owner, appeal_item("rec-1", OTHER))
    caught_up = await file_after_asking(appeal_engine, owner, appeal_item("rec-1", OTHER))
    assert owner.asked == ["rec-1"]  # the second one found it in the replica
    for outcome in (lagging, caught_up):
        assert (outcome.kind, outcome.refusal.reason, outcome.refusal.status) == ("rejected", "not_subject", 403)


async def test_an_id_that_exists_nowhere_is_404_at_once(appeal_engine: AsyncEngine) -> None:
    outcome = await file_after_asking(appeal_engine, FakeOwner(), appeal_item("rec-nowhere", SUBJECT))
    assert (outcome.refusal.reason, outcome.refusal.status) == ("record_not_found", 404)


async def test_an_unreachable_owner_refuses_nothing(appeal_engine: AsyncEngine) -> None:
    with pytest.raises(OwnerUnavailable):
        await rows_from_owner(appeal_engine, APPEAL_REPLICA, FakeOwner(down=True), ["rec-1"])  # type: ignore[arg-type]
    # ...but a record the replica holds needs no owner at all.
    async with appeal_engine.begin() as conn:
        await upsert_replica(conn, APPEAL_REPLICA, [replica_row(appeal_record_data("rec-1", SUBJECT))])
    assert await rows_from_owner(appeal_engine, APPEAL_REPLICA, FakeOwner(down=True), ["rec-1"]) == []  # type: ignore[arg-type]


async def test_the_later_event_does_not_take_the_replica_back(appeal_engine: AsyncEngine) -> None:
    owner = FakeOwner(appeal_record_data("rec-1", SUBJECT, version=2, status="corrected"))
    await file_after_asking(appeal_engine, owner, appeal_item("rec-1", SUBJECT))
    async with appeal_engine.begin() as conn:  # record.created.v1 (version 1) arrives late
        await upsert_replica(conn, APPEAL_REPLICA, [replica_row(appeal_record_data("rec-1", SUBJECT))])
    async with appeal_engine.connect() as conn:
        kept = await get_replica(conn, APPEAL_REPLICA, "rec-1")
    assert (kept.version, kept.status) == (2, "corrected")  # type: ignore[union-attr]


# --- the repair path ------------------------------------------------------------------------------


@pytest.fixture
async def repair_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'repair.db'}")
    await create_tables(eng, REPAIR_TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


async def dispatch(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(COMMANDS).order_by(COMMANDS.c.seq))]


async def test_a_repair_before_the_replica_heard_of_the_record_starts_its_workflow_first(
    repair_engine: AsyncEngine,
) -> None:
    event = record_event()
    owner = FakeOwner(event["data"])
    request = inbound(repair_request())
    learned = await rows_from_owner(repair_engine, REPAIR_REPLICA, owner, record_ids_of([request]))  # type: ignore[arg-type]
    async with repair_engine.begin() as conn:
        (outcome,) = await receive(conn, [request], now=IN_WINDOW, learned=learned)
    assert outcome.kind == "submitted"
    # The workflow is started before the application is sent to it (else `apply` finds no workflow
    # and the dispatcher would close the application as repair_closed).
    assert [c["purpose"] for c in await dispatch(repair_engine)] == ["repair.start", "repair.apply"]

    # record.created.v1 arrives later: the same version, a window that exists — nothing twice.
    counts = await records(repair_engine, event, now=IN_WINDOW)
    assert (counts["replicated"], counts["started"], counts["signalled"]) == (1, 0, 0)
    assert [c["purpose"] for c in await dispatch(repair_engine)] == ["repair.start", "repair.apply"]
    async with repair_engine.connect() as conn:
        assert len((await conn.execute(select(WINDOWS))).all()) == 1


async def test_repair_for_another_subjects_record_is_403_in_both_states(repair_engine: AsyncEngine) -> None:
    owner = FakeOwner(record_event()["data"])
    request = repair_request(applicant=OTHER)
    learned = await rows_from_owner(repair_engine, REPAIR_REPLICA, owner, ["rec-1"])  # type: ignore[arg-type]
    async with repair_engine.begin() as conn:
        (lagging,) = await receive(conn, [inbound(request)], now=IN_WINDOW, learned=learned)
    (caught_up,) = await submit(repair_engine, repair_request(applicant=OTHER), now=IN_WINDOW)
    for outcome in (lagging, caught_up):
        assert (outcome.refusal.code, outcome.refusal.status) == ("not_your_record", 403)


# --- lag --------------------------------------------------------------------------------------------


def test_replica_lag_is_the_age_of_the_newest_applied_event() -> None:
    now = [1_000_000.0]
    clock = ReplicaClock("unit-test", _clock=lambda: now[0])
    assert clock.lag() is None and clock.detail()["lag_seconds"] is None
    clock.note([datetime.fromtimestamp(999_990, UTC), datetime.fromtimestamp(999_995, UTC)])
    assert (clock.lag(), clock.delay, clock.events) == (5.0, 5.0, 2)
    now[0] += 60  # nothing new recorded: the lag grows, the delay of the last batch does not
    assert (clock.lag(), clock.delay) == (65.0, 5.0)
    assert REGISTRY.get_sample_value("credit_replica_lag_seconds", {"service": "unit-test"}) == 65.0
    clock.note([datetime.fromtimestamp(999_000, UTC)])  # an older event redelivered: newest stays
    assert clock.detail()["newest_event_at"] == datetime.fromtimestamp(999_995, UTC).isoformat()


async def test_the_internal_endpoint_wants_a_service_token_and_is_not_routed_by_the_gateway() -> None:
    secret = get_settings().credit_jwt_secret
    user = mint_token(sub="u", role="supervisor", org="410300", region="410300", secret=secret)
    for header in (None, "Basic abc", "Bearer ", f"Bearer {user}"):
        with pytest.raises(Problem) as refused:
            await require_service(header)
        assert refused.value.status == 401
    assert await require_service(f"Bearer {mint_service_token('repair', secret=secret)}") == "repair"
    assert not [r for r in routes_from_env() if r.matches("/internal/v1/records/rec-1")]


async def test_the_consumers_replica_lookup_waits_out_a_database_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 21: the database restarting while an applications batch reads its replica is an outage:
    # held and tried again in place, not raised at once into an immediate re-read of the batch.
    from services.common import record_owner

    calls: list[int] = []

    async def lookup(engine, table, owner, record_ids):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        return [{"record_id": rid} for rid in record_ids]

    monkeypatch.setattr(record_owner, "rows_from_owner", lookup)
    item = appeal_item("rec-1", "91410300MA0000001X")
    owner = owner_answering(lambda r: httpx.Response(500))
    rows = await record_owner.rows_for_batch(None, APPEAL_REPLICA, owner, [item], pause=0)  # type: ignore[arg-type]
    assert rows == [{"record_id": "rec-1"}] and len(calls) == 2
