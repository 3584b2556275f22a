"""The watch's figures for the evaluations service (`GET /internal/v1/figures`, issue 15): the
on-time rates per purchaser or agency over the clocks due in the period, with the regions they ran
in — only to a service token of an allowed service (deny unless allowed: a person's token, another
service's token, a forged or missing token are refused)."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.service_auth import mint_service_token
from services.common.settings import DEV_JWT_SECRET, Settings
from services.watch.app import create_app
from services.watch.models import CLOCKS, TABLES
from tests.conftest import bearer
from tests.unit.test_http_routers import serve

PURCHASER, OTHER = "12210100MB0000011A", "12210100MB0000012A"
AGENCY = "91411000MA0000021X"
AT = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)


def clock(n: int, purchaser: str, stage: str, *, late: bool | None, region: str = "210102", due: date) -> dict:
    return {
        "clock_id": f"{region}:P{n}:{stage}:",
        "region": region,
        "project_code": f"P{n}",
        "project_name": f"项目{n}",
        "stage": stage,
        "contract_no": "",
        "purchaser_id": purchaser,
        "agency_id": AGENCY,
        "responsible": {"type": "purchaser", "id": purchaser, "name": "采购人"},
        "started_by": f"urn:test|{n}",
        "started_at": AT,
        "due_on": due,
        "provisional": False,
        "rule": {"value": 2, "unit": "working_days", "source": "test"},
        "done_at": None if late is None else AT,
        "late": late,
        "level": None,
        "task_id": None,
        "decision": None,
        "updated_at": AT,
    }


@pytest.fixture
async def watch(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, httpx.AsyncClient]]:
    app = create_app(Settings(credit_var_dir=tmp_path), with_temporal=False)
    engine, client = await serve(tmp_path, "watch", app, TABLES)
    async with engine.begin() as conn:
        due = date(2026, 5, 6)
        await conn.execute(
            CLOCKS.insert(),
            [
                clock(1, PURCHASER, "contract_signing", late=False, due=due),
                clock(2, PURCHASER, "contract_signing", late=True, due=due),
                clock(3, PURCHASER, "payment", late=False, due=due, region="210103"),
                clock(4, OTHER, "payment", late=False, due=due),
                clock(5, OTHER, "payment", late=False, due=date(2025, 12, 1)),  # another period
                clock(6, OTHER, "payment", late=False, due=due, region="411002"),  # another city
            ],
        )
    async with client:
        yield engine, client
    await engine.dispose()


def service(name: str, secret: str = DEV_JWT_SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_service_token(name, secret=secret)}"}


QUERY = "/internal/v1/figures?kind=purchaser&region=210100&period=2026"


async def test_the_evaluations_service_reads_the_on_time_rates_per_purchaser(watch) -> None:  # type: ignore[no-untyped-def]
    _, client = watch
    answer = await client.get(QUERY, headers=service("evaluations"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["kind"], body["region"], body["period"], body["clocks"]) == ("purchaser", "210100", "2026", 4)
    assert datetime.fromisoformat(body["computed_at"]).tzinfo is not None
    items = {i["party"]["id"]: i for i in body["items"]}
    assert items[PURCHASER]["stages"]["contract_signing"]["on_time_rate"] == 0.5
    assert items[PURCHASER]["stages"]["payment"]["on_time_rate"] == 1.0
    assert items[PURCHASER]["on_time_rate"] == round(2 / 3, 4)
    assert items[PURCHASER]["regions"] == ["210102", "210103"]
    assert (items[OTHER]["on_time_rate"], items[OTHER]["regions"]) == (1.0, ["210102"])
    agencies = await client.get(QUERY.replace("purchaser", "agency"), headers=service("evaluations"))
    assert [i["party"]["id"] for i in agencies.json()["items"]] == [AGENCY]


async def test_the_figures_are_refused_to_anyone_but_an_allowed_service(watch) -> None:  # type: ignore[no-untyped-def]
    _, client = watch
    assert (await client.get(QUERY)).status_code == 401
    officer = bearer("finance_officer", "210100", "210100")
    assert (await client.get(QUERY, headers=officer)).status_code == 401  # a person's token has no audience
    forged = await client.get(QUERY, headers=service("evaluations", secret="another-secret-of-enough-length-000"))
    assert forged.status_code == 401
    other = await client.get(QUERY, headers=service("appeal"))
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
    bad = await client.get(QUERY.replace("210100", "21010"), headers=service("evaluations"))
    assert bad.status_code == 422
