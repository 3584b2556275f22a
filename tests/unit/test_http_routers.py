"""The services' HTTP routers without the broker or Temporal: each service's real app (its
create_app, without Temporal) over SQLite through httpx's ASGI transport, the lifespan replaced by
a Runtime put on the app state. Every refusal these routers give names its problem code here."""

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from services.appeal.app import create_app as appeal_app
from services.appeal.models import MESSAGING as APPEAL_MESSAGING
from services.appeal.models import TABLES as APPEAL_TABLES
from services.common.db import create_tables, make_engine
from services.common.record_owner import RecordOwner
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.sql import insert_rows
from services.evaluation.app import create_app as evaluation_app
from services.evaluation.ledger.history import GENESIS, HISTORY_T, version_row
from services.evaluation.models import TABLES as EVALUATION_TABLES
from services.evaluation.models import CreditRecord, LedgerCheckpoint
from services.publication.app import create_app as publication_app
from services.publication.credit import CreditReader
from services.publication.models import TABLES as PUBLICATION_TABLES
from services.repair.app import create_app as repair_app
from services.repair.models import TABLES as REPAIR_TABLES
from tests.conftest import bearer
from tests.unit.test_evaluation_views import stored_row
from tests.unit.test_handlers_testbroker import StubRelay

FINANCE = bearer("finance_officer", "410300", "410300")
SUPERVISOR = bearer("supervisor", "410300", "410300", sub="supervisor-2")
SUPPLIER = "91411081MA9GH1EF5N"
SUBJECT = bearer("subject", SUPPLIER, "410322")


async def serve(tmp_path: Path, name: str, app: FastAPI, tables: list[Table], **state: object):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}")
    await create_tables(engine, tables)
    app.state.runtime = Runtime(engine=engine, relay=StubRelay())  # type: ignore[arg-type]
    for k, v in state.items():
        setattr(app.state, k, v(engine) if callable(v) else v)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    return engine, client


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(credit_var_dir=tmp_path)


@pytest.fixture
async def evaluation(tmp_path: Path, settings: Settings) -> AsyncIterator[tuple[AsyncEngine, httpx.AsyncClient]]:
    app = evaluation_app(settings, with_temporal=False)
    engine, client = await serve(tmp_path, "evaluation", app, EVALUATION_TABLES, ledger_public_key="00" * 32)
    async with client:
        yield engine, client
    await engine.dispose()


@pytest.fixture
async def appeal(tmp_path: Path, settings: Settings) -> AsyncIterator[tuple[AsyncEngine, httpx.AsyncClient]]:
    app = appeal_app(settings, with_temporal=False)
    engine, client = await serve(tmp_path, "appeal", app, APPEAL_TABLES, owner=unknown_to_owner())
    async with client:
        yield engine, client
    await engine.dispose()


@pytest.fixture
async def repair(tmp_path: Path, settings: Settings) -> AsyncIterator[tuple[AsyncEngine, httpx.AsyncClient]]:
    app = repair_app(settings, with_temporal=False)
    engine, client = await serve(tmp_path, "repair", app, REPAIR_TABLES)
    async with client:
        yield engine, client
    await engine.dispose()


@pytest.fixture
async def publication(tmp_path: Path, settings: Settings) -> AsyncIterator[tuple[AsyncEngine, httpx.AsyncClient]]:
    app = publication_app(settings, with_temporal=False)
    reader: Callable[[AsyncEngine], CreditReader] = lambda engine: CreditReader(engine, None)  # noqa: E731
    engine, client = await serve(tmp_path, "publication", app, PUBLICATION_TABLES, credit_reader=reader)
    async with client:
        yield engine, client
    await engine.dispose()


def unknown_to_owner() -> RecordOwner:
    """The evaluation service, asked about a record the replica lacks, knows none (its own 404)."""
    transport = httpx.MockTransport(lambda _: httpx.Response(404, json={"code": "record_not_found"}))
    return RecordOwner("appeal", base_url="http://evaluation", secret="s" * 32, transport=transport)


def problem(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["code"] == code, body
    return body


async def insert(engine: AsyncEngine, table: Table, row: dict) -> None:
    async with engine.begin() as conn:
        await insert_rows(conn, table, [row])


RECORDS_T = CreditRecord.__table__  # type: ignore[attr-defined]
CHECKPOINTS_T = LedgerCheckpoint.__table__  # type: ignore[attr-defined]


async def a_record(engine: AsyncEngine) -> dict:
    row = stored_row() | {"subject_id": SUPPLIER, "subject_key": f"supplier:{SUPPLIER}"}
    await insert(engine, RECORDS_T, row)
    return row


# --- evaluation: ledger ---------------------------------------------------------------------------


async def test_no_checkpoint_yet_is_checkpoint_not_found(evaluation) -> None:  # type: ignore[no-untyped-def]
    _, api = evaluation
    problem(await api.get("/v1/ledger/checkpoints/latest"), 404, "checkpoint_not_found")
    problem(await api.get("/v1/ledger/checkpoints/7"), 404, "checkpoint_not_found")


async def test_consistency_backwards_is_invalid_range(evaluation) -> None:  # type: ignore[no-untyped-def]
    _, api = evaluation
    problem(await api.get("/v1/ledger/proofs/consistency", params={"first": 3, "second": 2}), 422, "invalid_range")


async def test_version_not_in_the_checkpoint_is_leaf_not_found(evaluation) -> None:  # type: ignore[no-untyped-def]
    engine, api = evaluation
    record = await a_record(engine)
    checkpoint = {
        "tree_size": 1,
        "root_hash": "ab" * 32,
        "timestamp": datetime.now(UTC),
        "key_id": "k",
        "signature": "s",
        "frontier": [],
    }
    await insert(engine, CHECKPOINTS_T, checkpoint)
    params = {"record_id": record["id"], "version": 1, "tree_size": 1}
    problem(await api.get("/v1/ledger/proofs/inclusion", params=params, headers=FINANCE), 404, "leaf_not_found")
    # A record the caller may not read is "not found" too, before any leaf is looked at.
    other = bearer("finance_officer", "110000", "110000")
    problem(await api.get("/v1/ledger/proofs/inclusion", params=params, headers=other), 404, "record_not_found")


async def test_checkpoints_by_size_and_latest(evaluation) -> None:  # type: ignore[no-untyped-def]
    engine, api = evaluation
    at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    for size in (1, 2):
        row = {"tree_size": size, "root_hash": f"{size:02d}" * 32, "timestamp": at, "key_id": "k", "signature": "s"}
        await insert(engine, CHECKPOINTS_T, row | {"frontier": []})
    latest = (await api.get("/v1/ledger/checkpoints/latest")).json()
    assert (latest["tree_size"], latest["root_hash"], latest["public_key"]) == (2, "02" * 32, "00" * 32)
    assert (await api.get("/v1/ledger/checkpoints/1")).json()["root_hash"] == "01" * 32


async def test_catalogue_filtered(evaluation) -> None:  # type: ignore[no-untyped-def]
    _, api = evaluation
    body = (await api.get("/v1/catalogue", params={"subject": "expert", "severity": "serious"})).json()
    assert body["count"] == len(body["behaviours"]) > 0
    assert {(b["subject"], b["severity"]) for b in body["behaviours"]} == {("expert", "serious")}
    problem(await api.get("/v1/catalogue", params={"subject": "nobody"}), 422, "invalid_request")


# --- evaluation: records, experts, determinations, evidence access ----------------------------------


async def test_unknown_record_expert_and_determination(evaluation) -> None:  # type: ignore[no-untyped-def]
    _, api = evaluation
    problem(await api.get("/v1/records/rec-nope", headers=FINANCE), 404, "record_not_found")
    problem(await api.get("/v1/experts/EXP-NOPE/standing", headers=FINANCE), 404, "expert_not_found")
    problem(await api.get("/v1/determinations/det-nope", headers=FINANCE), 404, "determination_not_found")


async def test_evidence_access_request_unknown_or_decided(evaluation) -> None:  # type: ignore[no-untyped-def]
    engine, api = evaluation
    record = await a_record(engine)
    problem(await api.post("/v1/access-requests/acc-nope/approve", headers=SUPERVISOR), 404, "request_not_found")
    r = await api.post(f"/v1/records/{record['id']}/access-requests", json={"purpose": "复核举报"}, headers=FINANCE)
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    assert (await api.post(f"/v1/access-requests/{request_id}/approve", headers=SUPERVISOR)).status_code == 200
    problem(await api.post(f"/v1/access-requests/{request_id}/approve", headers=SUPERVISOR), 409, "request_decided")


async def test_history_shown_without_evidence_to_the_subject(evaluation) -> None:  # type: ignore[no-untyped-def]
    engine, api = evaluation
    record = await a_record(engine)
    version = version_row(record, change="created", actor="t", now=datetime.now(UTC), prev_hash=GENESIS)
    await insert(engine, HISTORY_T, version)
    body = (await api.get(f"/v1/records/{record['id']}", headers=SUBJECT)).json()
    assert body["history"][0]["change"] == "created"
    assert "evidence" not in body and "evidence" not in body["history"][0]["snapshot"]


# --- appeal, repair -------------------------------------------------------------------------------


async def test_unknown_appeal_is_appeal_not_found(appeal) -> None:  # type: ignore[no-untyped-def]
    _, api = appeal
    problem(await api.get("/v1/appeals/apl-nope", headers=FINANCE), 404, "appeal_not_found")


async def test_a_key_already_processed_without_an_appeal_is_duplicate_request(appeal) -> None:  # type: ignore[no-untyped-def]
    engine, api = appeal
    key = str(uuid.uuid4())
    # The first attempt with this key was consumed but left no appeal (nor a refusal) to answer with.
    processed = {"source": f"urn:credit:api:subject:{SUPPLIER}", "event_id": key, "outcome": "ignored"}
    await insert(engine, APPEAL_MESSAGING.processed, processed | {"processed_at": datetime.now(UTC)})
    body = {
        "record_id": "rec-1",
        "grounds": "记录有误",
        "evidence": [{"kind": "document", "uri": "s3://e/1.pdf", "sha256": "cd" * 32}],
    }
    r = await api.post("/v1/appeals", json=body, headers=SUBJECT | {"Idempotency-Key": key})
    problem(r, 409, "duplicate_request")


async def test_unknown_repair_is_repair_not_found(repair) -> None:  # type: ignore[no-untyped-def]
    _, api = repair
    problem(await api.get("/v1/repairs/rep-nope", headers=FINANCE), 404, "repair_not_found")


# --- publication: pushes --------------------------------------------------------------------------


async def test_pushes_query_needs_exactly_one_subject(publication) -> None:  # type: ignore[no-untyped-def]
    _, api = publication
    problem(await api.get("/v1/pushes", headers=FINANCE), 422, "invalid_query")
    both = {"record_id": "rec-1", "notice_id": "n-1"}
    problem(await api.get("/v1/pushes", params=both, headers=FINANCE), 422, "invalid_query")
    problem(
        await api.get("/v1/pushes", params={"record_id": "rec-nope"}, headers=FINANCE), 404, "push_subject_not_found"
    )
    problem(await api.get("/v1/pushes", params={"notice_id": "n-nope"}, headers=FINANCE), 404, "push_subject_not_found")
