"""The correlation id (issue 18): from an inbound event (its own `correlationid`, else its id) or an
HTTP request (X-Correlation-Id, else made) to every event written for it, and back in the response."""

from datetime import UTC, datetime
from pathlib import Path

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.common import correlation
from services.common.db import create_tables, make_engine
from services.common.service import base_app
from services.evaluation.intake.ingest import ingest
from services.evaluation.models import MESSAGING, TABLES
from tests.unit.test_intake_sqlite import OCCURRED_ON, inbound, report_event

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


async def test_outbound_events_name_their_inbound_cause(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'evaluation.db'}")
    await create_tables(engine, TABLES)
    carried = report_event(code="SUP-G-01", occurred_on=OCCURRED_ON)
    carried["correlationid"] = "platform-trace-42"
    plain = report_event(code="SUP-G-01", occurred_on=OCCURRED_ON)
    refused = report_event(code="SUP-G-99", occurred_on=OCCURRED_ON)
    try:
        async with engine.begin() as conn:
            await ingest(conn, [inbound(carried), inbound(plain), inbound(refused)], now=NOW)
        async with engine.connect() as conn:
            events = [orjson.loads(r.payload) for r in await conn.execute(select(MESSAGING.outbox))]
    finally:
        await engine.dispose()
    by_type: dict[str, list[str | None]] = {}
    for e in events:
        by_type.setdefault(e["type"].rsplit(".", 2)[-2], []).append(e.get("correlationid"))
    assert by_type["created"] == ["platform-trace-42", f"{plain['source']}#{plain['id']}"]
    assert by_type["rejected"] == [f"{refused['source']}#{refused['id']}"]
    assert correlation.current() is None  # put back after the batch


def test_http_request_correlation() -> None:
    app = base_app("probe", None)

    @app.get("/probe")
    async def probe() -> dict:
        return {"cid": correlation.current()}

    client = TestClient(app)
    r = client.get("/probe", headers={"X-Correlation-Id": "trace-1"})
    assert r.json() == {"cid": "trace-1"} and r.headers["x-correlation-id"] == "trace-1"
    made = client.get("/probe")
    assert made.json()["cid"] == made.headers["x-correlation-id"] and len(made.json()["cid"]) == 32
    # A header that is not an id (spaces, too long) is replaced, never logged or forwarded as is.
    odd = client.get("/probe", headers={"X-Correlation-Id": "a b" * 100})
    assert odd.json()["cid"] != "a b" * 100
    assert correlation.current() is None
