"""Figures fetched, not loaded (issue 15): the evaluations service's replica of `credit.records` fed
through the consumer frame, the records in force counted on a day (worked example), the watch's
figures read over HTTP with a service token, every figure stored with its provenance and shown in
the HTTP answer — and a watch that is down failing the activity (retried by Temporal), never a 0."""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from services.common.cloudevents import build_event, encode_structured
from services.common.db import create_tables, make_engine
from services.common.inbound import Inbound, from_kafka
from services.common.lawdates import add_months
from services.common.service_auth import verify_service_token
from services.common.settings import Settings
from services.common.topics import TYPE_PREFIX
from services.evaluations.app import create_app
from services.evaluations.collect import FigureCollection, WatchFigures, period_end
from services.evaluations.models import FIGURES, REPLICA, TABLES
from services.evaluations.records import count_in_force, count_reports, in_force_on, replicate
from tests.conftest import bearer
from tests.unit.test_http_routers import serve
from workflows.annual_evaluation.inputs import DraftRequest

SECRET = "a-test-secret-of-enough-length-0123456789"
NOW = datetime(2027, 1, 10, 1, 0, tzinfo=UTC)
AGENCY, OTHER = "91411000MA0000021X", "91411000MA0000022X"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'evaluations.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


def record_event(
    record_id: str,
    *,
    subject: str = AGENCY,
    kind: str = "agency",
    severity: str = "general",
    status: str = "in_force",
    change: str = "created",
    version: int = 1,
    recorded_on: date = date(2026, 3, 2),
    months: int = 12,
    resolution: dict | None = None,
    reporter: dict | None = None,
) -> Inbound:
    data = {
        "record_id": record_id,
        "version": version,
        "status": status,
        "subject": {"type": kind, "id": subject, "name": "某代理机构"},
        "behaviour": {"code": "AGY-G-01" if severity == "general" else "AGY-S-01", "severity": severity},
        "severity": severity,
        "region": "410399",
        "recorded_on": recorded_on.isoformat(),
        "valid_until": add_months(recorded_on, months).isoformat(),
        "resolution": resolution,
        "reporter": reporter,
    }
    event = build_event(
        type=f"{TYPE_PREFIX}record.{change}.v1", source="urn:credit:evaluation", id=f"{record_id}:v{version}", data=data
    )
    value, headers = encode_structured(event)
    (item,) = from_kafka([SimpleNamespace(value=value, headers=headers, key=subject.encode())])
    return item


async def replicate_all(engine: AsyncEngine, *items: Inbound) -> None:
    async with engine.begin() as conn:
        await replicate(conn, list(items), now=NOW)


def row(status: str, recorded_on: date, valid_until: date, resolution: dict | None = None) -> dict:
    return {
        "record_id": f"r-{status}-{recorded_on}",
        "subject_id": AGENCY,
        "severity": "general",
        "status": status,
        "recorded_on": recorded_on,
        "valid_until": valid_until,
        "data": {"resolution": resolution},
    }


def test_in_force_on_a_day_worked_example() -> None:
    day = date(2026, 12, 31)
    year = (date(2026, 3, 2), date(2027, 3, 2))
    assert in_force_on(row("in_force", *year), day)
    assert in_force_on(row("corrected", *year), day)  # corrected: stands with its corrected fields
    assert in_force_on(row("expired", date(2026, 1, 5), date(2027, 1, 5)), day)  # expired after the day
    assert not in_force_on(row("expired", date(2025, 6, 1), date(2026, 6, 1)), day)  # ended before it
    assert not in_force_on(row("in_force", date(2027, 1, 4), date(2028, 1, 4)), day)  # made after it
    assert not in_force_on(row("withdrawn", *year), day)
    assert in_force_on(row("repaired", *year, {"kind": "repaired", "decided_on": "2027-01-05"}), day)
    assert not in_force_on(row("repaired", *year, {"kind": "repaired", "decided_on": "2026-10-01"}), day)


def test_the_day_counted_is_the_period_end_or_today_while_it_runs() -> None:
    assert period_end("2026", NOW) == date(2026, 12, 31)
    assert period_end("2027", NOW) == date(2027, 1, 10)


async def test_the_replica_takes_newer_versions_once_and_counts_by_severity(engine: AsyncEngine) -> None:
    created = record_event("g1")
    await replicate_all(engine, created, record_event("g2"), record_event("s1", severity="serious", months=24))
    await replicate_all(engine, created)  # redelivered: nothing twice
    # g2 is withdrawn on objection (a newer version), an older version arriving late changes nothing.
    await replicate_all(engine, record_event("g2", status="withdrawn", change="corrected", version=2))
    await replicate_all(engine, record_event("g2", version=1))
    async with engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(select(REPLICA))).mappings()]
    assert sorted((r["record_id"], r["status"]) for r in rows) == [
        ("g1", "in_force"),
        ("g2", "withdrawn"),
        ("s1", "in_force"),
    ]
    counted = count_in_force(rows, date(2026, 12, 31))[AGENCY]
    assert (counted.general, counted.serious, counted.record_ids) == (1, 1, ["g1", "s1"])


def watch_answer(request: httpx.Request) -> httpx.Response:
    body = {
        "kind": request.url.params["kind"],
        "region": request.url.params["region"],
        "period": request.url.params["period"],
        "clocks": 12,
        "computed_at": "2027-01-10T01:00:00+00:00",
        "items": [
            {
                "party": {"type": "agency", "id": AGENCY},
                "on_time_rate": 0.85,
                "stages": {"contract_signing": {"due": 4, "on_time": 3, "on_time_rate": 0.75}},
                "regions": ["411002"],
            },
            {"party": {"type": "agency", "id": OTHER}, "on_time_rate": None, "stages": {}, "regions": ["411002"]},
        ],
    }
    return httpx.Response(200, json=body)


def collection(engine: AsyncEngine, handler: Callable[[httpx.Request], httpx.Response]) -> FigureCollection:
    watch = WatchFigures("http://watch", secret=SECRET, timeout=2, transport=httpx.MockTransport(handler))
    return FigureCollection(engine, watch)


async def stored(engine: AsyncEngine) -> dict[tuple[str, str], dict]:
    async with engine.connect() as conn:
        return {(r["subject_id"], r["name"]): dict(r) for r in (await conn.execute(select(FIGURES))).mappings()}


async def test_figures_fetched_from_the_watch_and_counted_from_the_records_with_provenance(
    engine: AsyncEngine,
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return watch_answer(request)

    await replicate_all(engine, record_event("g1"), record_event("s1", severity="serious", months=24))
    collected = await collection(engine, handler).collect_figures(
        DraftRequest(kind="agency", region="411000", period="2026")
    )
    (request,) = seen
    assert request.url.path == "/internal/v1/figures"
    assert verify_service_token(request.headers["authorization"].split()[1], secret=SECRET) == "evaluations"
    day = period_end("2026", datetime.now(UTC))  # the period's last day, or today while it runs
    assert collected.subjects == [AGENCY, OTHER] and collected.records_on == day
    figures = await stored(engine)
    rate = figures[(AGENCY, "on_time_rate")]
    assert (rate["value"], rate["source"], rate["region"]) == (0.85, "watch", "411002")
    assert rate["source_ref"].startswith("watch GET /internal/v1/figures?kind=agency&region=411000&period=2026")
    assert figures[(AGENCY, "contract_signing_on_time_rate")]["value"] == 0.75
    general, serious = figures[(AGENCY, "general_in_force")], figures[(AGENCY, "serious_in_force")]
    assert (general["value"], serious["value"], general["source"]) == (1, 1, "records")
    assert f"in force on {day.isoformat()}: g1, s1" in general["source_ref"]
    # The watch could not compute OTHER's rate: left out (reported missing), never stored as 0.
    assert (OTHER, "on_time_rate") not in figures
    assert figures[(OTHER, "general_in_force")]["source_ref"].endswith("none")


@pytest.mark.parametrize(
    "handler",
    [
        lambda request: (_ for _ in ()).throw(httpx.ConnectError("connection refused")),
        lambda request: httpx.Response(403, json={"code": "forbidden"}),
        lambda request: httpx.Response(200, json={"items": "not figures"}),
    ],
    ids=["down", "refused", "garbled"],
)
async def test_a_watch_that_does_not_answer_fails_the_activity_retryably_and_stores_nothing(
    engine: AsyncEngine, handler: Callable[[httpx.Request], httpx.Response]
) -> None:
    with pytest.raises(ApplicationError) as raised:
        await collection(engine, handler).collect_figures(DraftRequest(kind="agency", region="411000", period="2026"))
    assert raised.value.type == "watch_unavailable" and not raised.value.non_retryable
    assert await stored(engine) == {}


async def test_the_answer_over_http_names_where_each_number_was_read(tmp_path: Path) -> None:
    engine, client = await serve(tmp_path, "served", create_app(Settings(credit_var_dir=tmp_path)), TABLES)
    async with client:
        await replicate_all(engine, record_event("g1"))
        await collection(engine, watch_answer).collect_figures(
            DraftRequest(kind="agency", region="411000", period="2026")
        )
        officer = bearer("finance_officer", "411000", "411000")
        answer = await client.get(f"/v1/agencies/{AGENCY}/evaluation?region=411002&period=2026", headers=officer)
    await engine.dispose()
    assert answer.status_code == 200, answer.text
    lines = {line["code"]: line for line in answer.json()["lines"]}
    # 100 − 2 × 1 general − 0.5 × (95 − 85) = 93
    assert (answer.json()["total"], answer.json()["grade"]) == (93, "A")
    assert lines["on_time"]["read_from"]["service"] == "watch"
    assert lines["records.general"]["read_from"]["service"] == "evaluation (credit.records)"
    day = period_end("2026", datetime.now(UTC))
    assert lines["records.general"]["read_from"]["source_ref"].endswith(f"in force on {day.isoformat()}: g1")
    assert lines["records.general"]["read_from"]["fetched_at"]


PURCHASER, QUIET = "12210100MB0000011A", "12210100MB0000012A"


def by(reporter_id: str, reporter_type: str = "purchaser") -> dict:
    return {"type": reporter_type, "id": reporter_id, "name": "沈阳某采购人"}


def test_reports_made_by_a_purchaser_worked_example() -> None:
    # In 2026 the purchaser's reports made r1 (general, in force), r2 (serious, since repaired) and
    # r3 (withdrawn on objection: a report that did not stand); r4 was recorded in 2025; r5 was
    # reported by an agency of the same id string (another party type); r6 by another purchaser.
    def reported(record_id: str, reporter: dict | None, status: str = "in_force", day: date = date(2026, 5, 4)) -> dict:
        return {"record_id": record_id, "status": status, "severity": "serious" if record_id == "r2" else "general",
                "recorded_on": day, "data": {"reporter": reporter}}  # fmt: skip

    rows = [
        reported("r1", by(PURCHASER)),
        reported("r2", by(PURCHASER), status="repaired"),
        reported("r3", by(PURCHASER), status="withdrawn"),
        reported("r4", by(PURCHASER), day=date(2025, 12, 30)),
        reported("r5", by(PURCHASER, "agency")),
        reported("r6", by(QUIET)),
        reported("r7", None),
    ]
    counted = count_reports(rows, "purchaser", date(2026, 1, 1), date(2026, 12, 31))
    assert (counted[PURCHASER].general, counted[PURCHASER].serious, counted[PURCHASER].record_ids) == (
        1,
        1,
        ["r1", "r2"],
    )
    assert counted[QUIET].record_ids == ["r6"] and set(counted) == {PURCHASER, QUIET}


def purchaser_watch(request: httpx.Request) -> httpx.Response:
    item = {"on_time_rate": 1.0, "stages": {"contract_signing": {"due": 1, "on_time": 1, "on_time_rate": 1.0}}}
    body = {
        "kind": "purchaser", "region": "210100", "period": "2026", "clocks": 2,
        "computed_at": "2027-01-10T01:00:00+00:00",
        "items": [{"party": {"type": "purchaser", "id": p}, **item, "regions": ["210102"]} for p in (PURCHASER, QUIET)],
    }  # fmt: skip
    return httpx.Response(200, json=body)


async def test_a_purchasers_reports_are_counted_from_the_replica_with_the_ids_read(engine: AsyncEngine) -> None:
    supplier = "91210100MA0000031X"
    await replicate_all(
        engine,
        record_event("p1", subject=supplier, kind="supplier", reporter=by(PURCHASER)),
        record_event("p2", subject=supplier, kind="supplier", reporter=by(PURCHASER), recorded_on=date(2025, 3, 2)),
        record_event("p3", subject=PURCHASER, kind="purchaser", reporter=by("210100", "finance")),
    )
    await collection(engine, purchaser_watch).collect_figures(
        DraftRequest(kind="purchaser", region="210100", period="2026")
    )
    figures = await stored(engine)
    made, quiet = figures[(PURCHASER, "reports_made")], figures[(QUIET, "reports_made")]
    assert (made["value"], made["source"], quiet["value"]) == (1, "records", 0)
    assert "reported by " + PURCHASER in made["source_ref"] and made["source_ref"].endswith(": p1")
    assert quiet["source_ref"].endswith("none")
    # The record about the purchaser is in force against it, not a report of its own.
    assert figures[(PURCHASER, "records_in_force")]["value"] == 1
