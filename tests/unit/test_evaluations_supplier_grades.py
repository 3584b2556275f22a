"""Supplier grades (Xuchang 004 item 28) from the records in force in the evaluations service's
replica of `credit.records`: the worked example against the policy's supplier points and bands,
which suppliers a region grades, the HTTP answers (finance of the region, the supplier itself), and
the grade-weighted inspection draw of suppliers, stored and reproducible."""

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.settings import Settings
from services.evaluations.app import create_app
from services.evaluations.models import DRAWS, TABLES
from services.evaluations.policy import supervision_policy_for
from services.evaluations.records import Counted
from services.evaluations.supplier_grades import grade_of, registered_in
from tests.conftest import bearer
from tests.unit.test_evaluations_collect import record_event, replicate_all
from tests.unit.test_http_routers import serve

XUCHANG = bearer("finance_officer", "411000", "411000", sub="officer-xc")
LUOYANG = bearer("finance_officer", "410300", "410300", sub="officer-ly")
CLEAN, ONE_GENERAL, SERIOUS = "91411002MA0000031X", "91411002MA0000032X", "91411081MA0000033X"
ELSEWHERE = "91410300MA0000034X"  # registered in Luoyang, never recorded in Xuchang


def test_worked_example_of_supplier_grades() -> None:
    policy = supervision_policy_for("411000")
    on = date(2026, 12, 7)
    # Xuchang's supplier points: 100, −5 per general, −40 per serious record in force; bands A ≥ 90,
    # B ≥ 75, C ≥ 60, D under.
    assert grade_of(policy, CLEAN, None, on).result.grade == "A"  # 100
    one = grade_of(policy, ONE_GENERAL, Counted(general=1, record_ids=["g1"]), on)
    assert (one.result.total, one.result.grade) == (95, "A")
    three = grade_of(policy, ONE_GENERAL, Counted(general=3), on)
    assert (three.result.total, three.result.grade) == (85, "B")  # 100 − 15
    serious = grade_of(policy, SERIOUS, Counted(general=1, serious=1), on)
    assert (serious.result.total, serious.result.grade) == (55, "D")  # 100 − 5 − 40
    assert serious.view()["lines"][2]["basis"] == "−40 × 1"


def test_a_region_grades_the_suppliers_registered_under_it() -> None:
    assert registered_in(SERIOUS, "411000")  # 411081 is under Xuchang
    assert registered_in(CLEAN, "411002") and not registered_in(CLEAN, "411081")
    assert not registered_in(ELSEWHERE, "411000")
    assert not registered_in("not-a-uscc", "411000")


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, httpx.AsyncClient]]:
    app = create_app(Settings(credit_var_dir=tmp_path), with_temporal=False)
    engine, client = await serve(tmp_path, "evaluations", app, TABLES)
    async with client:
        yield engine, client
    await engine.dispose()


async def _records(engine: AsyncEngine) -> None:
    recorded_on = date.today().replace(day=1)
    await replicate_all(
        engine,
        record_event("c-old", subject=CLEAN, kind="supplier", recorded_on=date(2020, 1, 6)),  # long expired
        record_event("g-1", subject=ONE_GENERAL, kind="supplier", recorded_on=recorded_on),
        record_event("s-1", subject=SERIOUS, kind="supplier", severity="serious", recorded_on=recorded_on),
        record_event("s-2", subject=SERIOUS, kind="supplier", severity="serious", recorded_on=recorded_on),
        record_event("e-1", subject=ELSEWHERE, kind="supplier", recorded_on=recorded_on),
    )


async def test_supplier_grades_over_http(service) -> None:  # type: ignore[no-untyped-def]
    engine, client = service
    await _records(engine)
    listed = await client.get("/v1/suppliers/grades?region=411000", headers=XUCHANG)
    assert listed.status_code == 200, listed.text
    assert [(i["supplier"], i["grade"]) for i in listed.json()["items"]] == [
        (CLEAN, "A"),
        (ONE_GENERAL, "A"),
        (SERIOUS, "D"),  # 100 − 2 × 40 = 20
    ]
    one = (await client.get(f"/v1/suppliers/{SERIOUS}/grade?region=411000", headers=XUCHANG)).json()
    assert (one["total"], one["grade"], one["records_counted"]) == (20, "D", ["s-1", "s-2"])
    own = bearer("subject", SERIOUS, "411081")
    assert (await client.get(f"/v1/suppliers/{SERIOUS}/grade?region=411000", headers=own)).status_code == 200
    assert (await client.get(f"/v1/suppliers/{CLEAN}/grade?region=411000", headers=own)).status_code == 403
    assert (await client.get("/v1/suppliers/grades?region=411000", headers=own)).status_code == 403
    assert (await client.get("/v1/suppliers/grades?region=411000", headers=LUOYANG)).status_code == 403
    assert (await client.get("/v1/suppliers/grades?region=411000")).status_code == 401
    refused = await client.get("/v1/suppliers/grades?region=410300", headers=LUOYANG)
    assert refused.status_code == 422 and refused.json()["code"] == "no_policy"


async def test_the_supplier_draw_weights_by_grade_and_is_stored(service) -> None:  # type: ignore[no-untyped-def]
    engine, client = service
    empty = await client.get("/v1/inspections/sample?region=411000&kind=supplier&size=1", headers=XUCHANG)
    assert empty.status_code == 409 and empty.json()["code"] == "nothing_to_draw"
    await _records(engine)
    query = "/v1/inspections/sample?region=411000&kind=supplier&size=2&seed=11"
    first, again = (await client.get(query, headers=XUCHANG)), (await client.get(query, headers=XUCHANG))
    assert first.status_code == 200, first.text
    assert first.json()["drawn"] == again.json()["drawn"] and len(first.json()["drawn"]) == 2
    population = {p["id"]: (p["grade"], p["weight"]) for p in first.json()["population"]}
    assert population == {CLEAN: ("A", 1), ONE_GENERAL: ("A", 1), SERIOUS: ("D", 8)}
    async with engine.connect() as conn:
        assert [r.kind for r in (await conn.execute(select(DRAWS))).all()] == ["supplier", "supplier"]
