"""The evaluations service over HTTP against a real (SQLite) database: the assessment and the agency
evaluation with every number's provenance, officer input audited with its reason, the stored and
reproducible inspection draw, and refusals (role, region, policy)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.settings import Settings
from services.evaluations.activities import EvaluationActivities
from services.evaluations.app import create_app
from services.evaluations.figures import store_figures, watch_figures
from services.evaluations.models import DRAWS, ENTRIES, MESSAGING, TABLES
from services.evaluations.scoring import Result
from services.evaluations.store import save_result
from tests.conftest import bearer
from tests.support.evaluations_year import AVERAGE, GOOD, PERIOD, POOR, agency_year, load_year
from tests.unit.test_http_routers import serve
from workflows.annual_evaluation.inputs import PublishRequest

SHENYANG = bearer("finance_officer", "210100", "210100", sub="officer-sy")
XUCHANG = bearer("finance_officer", "411000", "411000", sub="officer-xc")
PURCHASER = "12210100MB0000001A"
AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
RANKING_ITEM = {  # one item of the watch's GET /v1/rankings?kind=purchaser
    "party": {"type": "purchaser", "id": PURCHASER},
    "on_time_rate": 0.9,
    "stages": {
        "contract_signing": {"due": 10, "on_time": 9, "on_time_rate": 0.9},
        "payment": {"due": 10, "on_time": 8, "on_time_rate": 0.8},
        "contract_publication": {"due": 10, "on_time": 10, "on_time_rate": 1.0},
        "acceptance": {"due": 0, "on_time": 0, "on_time_rate": None},
    },
}


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, httpx.AsyncClient]]:
    app = create_app(Settings(credit_var_dir=tmp_path))
    engine, client = await serve(tmp_path, "evaluations", app, TABLES)
    async with client:
        yield engine, client
    await engine.dispose()


async def _purchaser_figures(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await store_figures(
            conn,
            kind="purchaser",
            subject_id=PURCHASER,
            region="210102",
            period="2026",
            figures=watch_figures(RANKING_ITEM),
            source="watch",
            source_ref="watch GET /v1/rankings?kind=purchaser&region=210100&period=2026",
            at=AT,
        )
        await store_figures(
            conn,
            kind="purchaser",
            subject_id=PURCHASER,
            region="210102",
            period="2026",
            figures={"records_in_force": 1, "reports_made": 2},
            source="records",
            source_ref="credit.records replica, 2026-12-01",
            at=AT,
        )


async def _enter(client: httpx.AsyncClient, indicator: str, points: float, reason: str) -> httpx.Response:
    body = {"region": "210102", "period": "2026", "points": points, "reason": reason}
    return await client.post(f"/v1/purchasers/{PURCHASER}/assessment/entries/{indicator}", json=body, headers=SHENYANG)


def test_watch_figures_leave_out_a_rate_the_watch_could_not_compute() -> None:
    assert watch_figures(RANKING_ITEM) == {
        "on_time_rate": 0.9,
        "contract_signing_on_time_rate": 0.9,
        "payment_on_time_rate": 0.8,
        "contract_publication_on_time_rate": 1.0,
    }


async def test_assessment_with_provenance_and_an_audited_adjustment(service) -> None:  # type: ignore[no-untyped-def]
    engine, client = service
    await _purchaser_figures(engine)
    missing = await client.get(f"/v1/purchasers/{PURCHASER}/assessment?region=210102&period=2026", headers=SHENYANG)
    assert missing.status_code == 409 and missing.json()["code"] == "figures_missing"
    assert "internal_control.findings (officer input)" in missing.json()["missing"]
    # The officer first enters 10, then corrects it to 12: the latest counts, both are kept.
    assert (await _enter(client, "internal_control.findings", 10, "初评")).status_code == 201
    assert (await _enter(client, "internal_control.findings", 12, "复核后：执行有1处缺陷")).status_code == 201
    assert (await _enter(client, "policy_functions.officer", 8, "中小企业预留达标")).status_code == 201
    assert (await _enter(client, "bonus.officer", 3, "电子化采购试点")).status_code == 201
    assert (await _enter(client, "efficiency.payment_on_time", 8, "国库支付系统核查：2笔逾期")).status_code == 201
    assert (await _enter(client, "credit_duties.checks", 4, "抽查10个项目，4个留存信用查询记录")).status_code == 201
    answer = await client.get(f"/v1/purchasers/{PURCHASER}/assessment?region=210102&period=2026", headers=SHENYANG)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # The worked example of tests/unit/test_evaluations_scoring.py: 74, 合格.
    assert (body["total"], body["grade"], body["interview"]) == (74, "合格", False)
    lines = {line["code"]: line for line in body["lines"]}
    assert lines["efficiency.contract_on_time"]["read_from"]["source_ref"].startswith("watch GET /v1/rankings")
    assert lines["credit_duties.reports"]["read_from"]["source_ref"].startswith("credit.records replica")
    assert "no service holds whether a purchaser queried" in lines["credit_duties.checks"]["note"]
    assert lines["internal_control.findings"]["reason"] == "复核后：执行有1处缺陷"
    assert lines["internal_control.findings"]["officer"] == "officer-sy"
    assert (await _enter(client, "adjustment", 2, "一项逾期系系统故障所致")).status_code == 201
    adjusted = (
        await client.get(f"/v1/purchasers/{PURCHASER}/assessment?region=210102&period=2026", headers=SHENYANG)
    ).json()
    assert (adjusted["total"], adjusted["grade"]) == (76, "良好")
    assert adjusted["lines"][-1]["reason"] == "一项逾期系系统故障所致"
    async with engine.connect() as conn:
        assert len((await conn.execute(select(ENTRIES))).all()) == 7
    # The purchaser reads its own; another purchaser and a supplier do not.
    own = bearer("purchaser", PURCHASER, "210102")
    assert (
        await client.get(f"/v1/purchasers/{PURCHASER}/assessment?region=210102&period=2026", headers=own)
    ).status_code == 200
    other = bearer("purchaser", "12210100MB0000002A", "210102")
    assert (
        await client.get(f"/v1/purchasers/{PURCHASER}/assessment?region=210102&period=2026", headers=other)
    ).status_code == 403
    supplier = bearer("subject", "91411081MA9GH1EF5N", "210102")
    assert (
        await client.get(f"/v1/purchasers/{PURCHASER}/assessment?region=210102&period=2026", headers=supplier)
    ).status_code == 403


async def test_entries_are_refused_for_computed_indicators_out_of_range_or_outside_the_region(service) -> None:  # type: ignore[no-untyped-def]
    _, client = service
    computed = await _enter(client, "credit_duties.reports", 5, "x")
    assert computed.status_code == 422 and "not an officer-entered indicator" in computed.json()["detail"]
    assert (await _enter(client, "bonus.officer", 11, "x")).status_code == 422
    assert (await _enter(client, "bonus.officer", 3, "")).status_code == 422
    body = {"region": "210102", "period": "2026", "points": 3, "reason": "x"}
    foreign = await client.post(
        f"/v1/purchasers/{PURCHASER}/assessment/entries/bonus.officer", json=body, headers=XUCHANG
    )
    assert foreign.status_code == 403


@pytest.mark.parametrize("points", ["nan", "inf", "-Infinity", "1e400"])
async def test_an_adjustment_that_is_not_a_finite_number_is_refused(service, points: str) -> None:  # type: ignore[no-untyped-def]
    engine, client = service
    answer = await _enter(client, "adjustment", points, "x")  # type: ignore[arg-type]
    assert answer.status_code == 422 and answer.json()["errors"][0]["loc"] == ["body", "points"]
    async with engine.connect() as conn:
        assert (await conn.execute(select(ENTRIES))).all() == []


async def test_the_assessment_is_refused_where_shenyang_policy_does_not_apply(service) -> None:  # type: ignore[no-untyped-def]
    _, client = service
    answer = await client.get(f"/v1/purchasers/{PURCHASER}/assessment?region=411000&period=2026", headers=XUCHANG)
    assert answer.status_code == 422 and answer.json()["code"] == "no_policy"
    assert "210100" in answer.json()["detail"] and "000 §三.1" in answer.json()["detail"]


async def test_agency_evaluation_from_records_and_watch_figures(service) -> None:  # type: ignore[no-untyped-def]
    engine, client = service
    agency = "91411000MA0000001X"
    async with engine.begin() as conn:
        await agency_year(conn, agency, "411000", general=3, serious=1, rate=0.85)
    answer = await client.get(f"/v1/agencies/{agency}/evaluation?region=411000&period=2026", headers=XUCHANG)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["total"], answer.json()["grade"]) == (79, "B")  # 100 − 6 − 10 − 5
    body = {"region": "411000", "period": "2026", "points": -4, "reason": "质疑答复超期（日常监管）"}
    adjusted = await client.post(f"/v1/agencies/{agency}/evaluation/entries/adjustment", json=body, headers=XUCHANG)
    assert adjusted.status_code == 201
    answer = await client.get(f"/v1/agencies/{agency}/evaluation?region=411000&period=2026", headers=XUCHANG)
    assert (answer.json()["total"], answer.json()["grade"]) == (75, "B")
    assert answer.json()["lines"][-1]["reason"] == "质疑答复超期（日常监管）"
    shenyang = await client.get(f"/v1/agencies/{agency}/evaluation?region=210100&period=2026", headers=SHENYANG)
    assert shenyang.status_code == 422 and "411000" in shenyang.json()["detail"]


async def _publish_agency_grades(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for n, grade in enumerate("AABBCCDD"):
            await save_result(
                conn,
                kind="agency",
                subject_id=f"agency-{n}",
                period="2026",
                region="411002",
                policy="004",
                result=Result(total=0, grade=grade, lines=()),
                lines=[],
                state="published",
                at=AT,
            )
        await save_result(
            conn,
            kind="agency",
            subject_id="agency-draft",
            period="2026",
            region="411002",
            policy="004",
            result=Result(total=0, grade="D", lines=()),
            lines=[],
            state="draft",
            at=AT,
        )


async def test_the_inspection_draw_is_stored_and_reproducible_from_its_seed(service) -> None:  # type: ignore[no-untyped-def]
    engine, client = service
    empty = await client.get("/v1/inspections/sample?region=411000&kind=agency&size=2", headers=XUCHANG)
    assert empty.status_code == 409 and empty.json()["code"] == "nothing_to_draw"
    await _publish_agency_grades(engine)
    first = await client.get("/v1/inspections/sample?region=411000&kind=agency&size=3&seed=42", headers=XUCHANG)
    again = await client.get("/v1/inspections/sample?region=411000&kind=agency&size=3&seed=42", headers=XUCHANG)
    fresh = await client.get("/v1/inspections/sample?region=411000&kind=agency&size=3", headers=XUCHANG)
    assert first.status_code == again.status_code == fresh.status_code == 200
    assert first.json()["drawn"] == again.json()["drawn"] and len(first.json()["drawn"]) == 3
    assert {s["id"] for s in first.json()["population"]} == {f"agency-{n}" for n in range(8)}  # drafts not drawn
    assert first.json()["weights"]["D"]["value"] == 8 and first.json()["drawn_by"] == "officer-xc"
    async with engine.connect() as conn:
        rows = (await conn.execute(select(DRAWS).order_by(DRAWS.c.drawn_at))).mappings().all()
    assert len(rows) == 3 and rows[0]["seed"] == 42 and rows[2]["seed"] == fresh.json()["seed"]


async def test_the_draw_is_refused_outside_xuchang_and_to_those_without_a_finance_role(service) -> None:  # type: ignore[no-untyped-def]
    _, client = service
    shenyang = await client.get("/v1/inspections/sample?region=210100&kind=agency&size=2", headers=SHENYANG)
    assert shenyang.status_code == 422 and shenyang.json()["code"] == "no_policy"
    assert (
        await client.get("/v1/inspections/sample?region=411000&kind=agency&size=2", headers=SHENYANG)
    ).status_code == 403
    agency = bearer("agency", "91411000MA0000001X", "411000")
    assert (
        await client.get("/v1/inspections/sample?region=411000&kind=agency&size=2", headers=agency)
    ).status_code == 403
    assert (await client.get("/v1/inspections/sample?region=411000&kind=agency&size=2")).status_code == 401


async def test_published_results_are_answered_as_published_and_listed_ranked(service) -> None:  # type: ignore[no-untyped-def]
    engine, client = service
    async with engine.begin() as conn:
        await load_year(conn)
    officer = bearer("finance_officer", "210100", "210100", sub="officer-sy")
    body = {"region": "210102", "period": PERIOD, "points": 2, "reason": "一项逾期系系统故障所致"}
    entered = await client.post(f"/v1/purchasers/{AVERAGE}/assessment/entries/adjustment", json=body, headers=officer)
    assert (entered.status_code, entered.json()["changes_result"]) == (201, True)
    current = (
        await client.get(f"/v1/purchasers/{AVERAGE}/assessment?region=210102&period={PERIOD}", headers=officer)
    ).json()
    assert current["state"] == "current"
    request = PublishRequest(
        kind="purchaser", region="210100", period=PERIOD, task_id="t-1", reviewed_by="reviewer-7", reviewed_at=AT
    )
    published = await EvaluationActivities(engine).publish_evaluations(request)
    again = await EvaluationActivities(engine).publish_evaluations(request)  # a retried activity
    assert published == again and [r.subject_id for r in published.results] == [GOOD, AVERAGE, POOR]
    async with engine.connect() as conn:
        assert len((await conn.execute(select(MESSAGING.outbox))).all()) == 3  # not six
    answer = (
        await client.get(f"/v1/purchasers/{AVERAGE}/assessment?region=210102&period={PERIOD}", headers=officer)
    ).json()
    assert (answer["state"], answer["total"], answer["grade"]) == ("published", 76, "良好")
    assert answer["lines"][-1]["reason"] == "一项逾期系系统故障所致"
    # After publication an entry is kept, and the answer says it does not change the published result.
    late = {**body, "points": -5, "reason": "公布后补录"}
    entered = await client.post(f"/v1/purchasers/{AVERAGE}/assessment/entries/adjustment", json=late, headers=officer)
    assert (entered.status_code, entered.json()["changes_result"]) == (201, False)
    after = (
        await client.get(f"/v1/purchasers/{AVERAGE}/assessment?region=210102&period={PERIOD}", headers=officer)
    ).json()
    assert (after["state"], after["total"]) == ("published", 76)
    listed = (await client.get(f"/v1/purchasers?region=210100&period={PERIOD}", headers=officer)).json()["items"]
    assert [(i["rank"], i["subject_id"], i["grade"]) for i in listed] == [
        (1, GOOD, "优秀"),
        (2, AVERAGE, "良好"),
        (3, POOR, "较差"),
    ]
    assert (await client.get(f"/v1/purchasers?region=210100&period={PERIOD}")).status_code == 401
    assert (await client.get(f"/v1/agencies?region=411000&period={PERIOD}")).json()["items"] == []  # none published yet
