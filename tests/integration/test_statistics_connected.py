"""The statistics read model on the real stack (issue 17): reports through the API become records
and tasks in their services, whose events cross the real broker to the statistics service; its
figures over HTTP (through the gateway) count them, for the county and for the city above it, and
not for a sibling county; the XLSX export has the same rows; each region's annual-report Schedule
is on the Temporal dev server; nobody without a finance role reads the figures."""

import io

import httpx
import pytest
from openpyxl import load_workbook
from temporalio.client import Client

from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, report_data
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
SUPERVISOR = {"role": "supervisor", "org": "410300", "region": "410300", "sub": "stats-supervisor"}


async def dashboard(api: httpx.AsyncClient, region: str) -> dict:
    r = await api.get("/v1/statistics/dashboard", params={"region": region}, headers=bearer(**SUPERVISOR))
    assert r.status_code == 200, r.text
    return r.json()


def in_force(figures: dict, severity: str = "general") -> int:
    return sum(r["records"] for r in figures["in_force"] if r["severity"] == severity)


def open_tasks(figures: dict, kind: str) -> int:
    return sum(k["open"] for k in figures["task_kinds"] if k["kind"] == kind)


async def report(api: httpx.AsyncClient, region: str, code: str) -> httpx.Response:
    data = report_data(code=code, region=region)
    r = await api.post("/v1/reports", json=data, headers=bearer("purchaser", PURCHASER_ID, region))
    assert r.status_code in (201, 202), r.text
    return r


async def test_events_through_the_broker_reach_the_figures(stack: Stack, api: httpx.AsyncClient) -> None:
    county, sibling, city = [await dashboard(api, r) for r in ("410322", "410323", "410300")]
    for _ in range(2):
        await report(api, "410322", "SUP-G-01")
    await report(api, "410322", "SUP-S-05")  # a serious report: a determination task, no record yet

    def counted(figures: dict) -> bool:
        return (
            in_force(figures) >= in_force(county) + 2
            and figures["summary"]["records_new"] >= county["summary"]["records_new"] + 2
            and open_tasks(figures, "determination") >= open_tasks(county, "determination") + 1
        )

    # The stack is shared: other tests' records in 410322 may still be arriving (a record restored
    # after an appeal moves `in_force` without a new record), so every figure is awaited, not only one.
    after = await eventually(lambda: dashboard(api, "410322"), until=counted, timeout=60)
    month = after["months"][-1]
    assert month["records_new"] >= 2 and month["in_force"] >= 2
    above = await dashboard(api, "410300")
    assert in_force(above) >= in_force(city) + 2
    assert {d["region"] for d in above["divisions"]} >= {"410322"}
    assert in_force(await dashboard(api, "410323")) == in_force(sibling)

    x = await api.get("/v1/statistics/export/divisions.xlsx", params={"region": "410300"}, headers=bearer(**SUPERVISOR))
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "行政区划代码" and "410322" in {r[0] for r in rows[2:]}


async def test_who_may_read_the_figures(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/statistics/dashboard")).status_code == 401
    purchaser = bearer("purchaser", PURCHASER_ID, "410322")
    assert (await api.get("/v1/statistics/dashboard", headers=purchaser)).status_code == 403
    county_officer = bearer("finance_officer", "410322", "410322")
    r = await api.get("/v1/statistics/dashboard", params={"region": "410300"}, headers=county_officer)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


async def test_each_region_has_its_annual_report_schedule(stack: Stack) -> None:
    client = await Client.connect(stack.temporal_address)

    async def described() -> object:
        try:
            return await client.get_schedule_handle("annual-report:410300").describe()
        except Exception:  # noqa: BLE001 - not created yet
            return None

    description = await eventually(described, until=lambda d: d is not None, timeout=60)
    action = description.schedule.action  # type: ignore[attr-defined]
    assert action.workflow == "AnnualReportWorkflow" and action.id == "annual-report:410300"
