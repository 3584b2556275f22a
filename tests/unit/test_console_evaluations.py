"""The console's evaluations and signals pages without a browser (issue 14, 15): the purchaser's seven
categories with each line's provenance and the officer's adjustment with its reason, the published
list searched and paged, the draws; review tasks linked to the results; and who may see them — a
supplier, an agency, a purchaser or a caller with no session gets nothing, and the API is not even
asked."""

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from services.casework.console.evaluation_pages import draws_page, list_page, result_links, subject_page
from services.casework.console.evaluation_routes import router as evaluation_router
from services.casework.console.routes import COOKIE
from services.casework.console.signal_routes import router as signal_router
from services.common.settings import Settings
from tests.conftest import token
from tests.unit.test_casework_console import task

WHO = {"sub": "officer-sy", "role": "finance_officer", "region": "210100", "org": "210100"}
PARAMS = {"region": "210100", "period": "2026", "q": "", "kind": "purchaser"}
LINES = [
    {"code": "internal_control.findings", "name": "内部控制制度建设及执行", "source": "officer",
     "rule": "officer_score", "basis": "entered by the officer, 0..15 points", "points": 12, "figure": None,
     "value": None, "officer": "officer-sy", "reason": "复核后：执行有1处缺陷"},
    {"code": "efficiency.contract_on_time", "name": "合同按期签订率", "source": "watch", "rule": "linear_rate",
     "basis": "10 points × rate 0.9", "points": 9, "figure": "contract_signing_on_time_rate", "value": 0.9,
     "read_from": {"source_ref": "watch GET /v1/rankings?kind=purchaser", "fetched_at": "2026-12-31T08:00:00+00:00"}},
    {"code": "efficiency.payment_on_time", "name": "资金按期支付率", "source": "watch", "rule": "linear_rate",
     "basis": "10 points × rate 0.8", "points": 8, "figure": "payment_on_time_rate", "value": 0.8},
    {"code": "adjustment", "name": "officer's adjustment", "source": "officer", "rule": "adjustment",
     "basis": "added to the computed result", "points": 2, "figure": None, "value": None,
     "officer": "officer-sy", "reason": "一项逾期系<系统故障>所致"},
]  # fmt: skip
RESULT = {
    "purchaser": "P1", "region": "210102", "period": "2026", "policy": "沈阳", "state": "published",
    "published_at": "2027-01-05T02:00:00+00:00", "total": 31, "grade": "较差",
    "categories": [
        {"code": "internal_control", "name": "内部控制管理", "indicators": ["internal_control.findings"],
         "weight": 15, "points": 12},
        {"code": "efficiency", "name": "采购效率与效益",
         "indicators": ["efficiency.contract_on_time", "efficiency.payment_on_time"], "weight": 20, "points": 17},
    ],
    "lines": LINES,
}  # fmt: skip


def test_the_purchasers_page_lays_each_line_under_its_category_with_its_provenance() -> None:
    html = subject_page("purchaser", "P1", RESULT, [], PARAMS, who=WHO, csrf="c", lang="zh")
    tree = html.split('id="lines"')[1].split("</table>")[0]
    control, efficiency = tree.split('data-category="efficiency"')
    assert "内部控制管理 · 12 / 15 分" in control and 'data-line="internal_control.findings"' in control
    assert "采购效率与效益 · 17 / 20 分" in efficiency and 'data-line="efficiency.payment_on_time"' in efficiency
    assert "officer-sy 录入：复核后：执行有1处缺陷" in control
    assert "读取自 watch GET /v1/rankings?kind=purchaser（2026-12-31 16:00）" in efficiency
    assert "contract_signing_on_time_rate = 0.9" in efficiency and "履约监测" in efficiency
    assert 'data-line="adjustment"' not in tree  # the adjustment is no indicator
    adjustments = html.split('id="adjustments"')[1]
    assert "一项逾期系&lt;系统故障&gt;所致" in adjustments and "<系统故障>" not in html
    assert 'id="total-score">31<' in html and 'id="grade">较差<' in html and "已公布" in html


def test_the_published_list_is_ranked_searched_paged_and_counts_the_grades() -> None:
    items = [{"rank": n, "subject_id": f"A{n:03d}", "region": "411002", "total": 100 - n, "grade": "AB"[n % 2],
              "published_at": "2027-01-05T02:00:00+00:00"} for n in range(1, 31)]  # fmt: skip
    tasks = [task(id="evaluation-review:agency:411000:2026:1", kind="evaluation_review", title="2026 代理机构年终评价")]
    params = {"region": "411000", "period": "2026", "q": "", "kind": "agency"}
    first = list_page("agency", {"items": items}, tasks, params, 1, who=WHO, csrf="c", lang="zh")
    assert first.count("data-subject=") == 25 and 'id="next"' in first and "共 30 项 · 第 1/2 页" in first
    assert '<div data-grade="A"><b>A</b> 15</div>' in first and '<div data-grade="B"><b>B</b> 15</div>' in first
    assert 'href="/console/evaluations/agency/A001?region=411002&amp;period=2026"' in first
    assert 'href="/console/tasks/evaluation-review%3Aagency%3A411000%3A2026%3A1"' in first
    second = list_page("agency", {"items": items}, [], params, 2, who=WHO, csrf="c", lang="zh")
    assert second.count("data-subject=") == 5 and 'id="prev"' in second
    found = list_page("agency", {"items": items}, [], {**params, "q": "a012"}, 1, who=WHO, csrf="c", lang="zh")
    assert found.count("data-subject=") == 1 and 'data-subject="A012"' in found
    # The grades count everything published, whatever the search shows.
    assert '<div data-grade="A"><b>A</b> 15</div>' in found
    assert "该年度尚无已公布的结果。" in list_page("agency", None, [], params, 1, who=WHO, csrf="c", lang="zh")


def test_the_draws_page_names_who_drew_whom_with_which_seed() -> None:
    draw = {
        "id": "d1", "region": "411000", "kind": "agency", "size": 2, "seed": 42, "policy": "许昌",
        "population": [{"id": "A1", "grade": "A", "weight": 1}, {"id": "D1", "grade": "D", "weight": 8},
                       {"id": "D2", "grade": "D", "weight": 8}],
        "drawn": [{"id": "D1", "grade": "D"}, {"id": "A1", "grade": "A"}],
        "drawn_by": "officer-xc", "drawn_at": "2027-01-06T01:30:00+00:00",
    }  # fmt: skip
    html = draws_page({"items": [draw], "total": 1}, {"region": "411000", "q": ""}, 1, who=WHO, csrf="c", lang="zh")
    row = html.split('data-draw="d1"')[1]
    assert "2027-01-06 09:30" in row and "D1（D）、A1（A）" in row and "A 1 · D 2" in row and "officer-xc" in row
    assert "/v1/inspections/sample?region=411000&amp;kind=agency&amp;size=2&amp;seed=42" in row


def test_a_review_task_links_each_result_to_its_console_page() -> None:
    links = {
        "P1": "/v1/purchasers/P1/assessment?region=210100&period=2026",
        "report": "/v1/determinations/x",
    }
    html = result_links(task(kind="evaluation_review", links=links), "zh")
    assert 'href="/console/evaluations/purchaser/P1?region=210100&amp;period=2026"' in html
    assert html.count("evaluation-link") == 1
    assert result_links(task(links=links), "zh") == ""  # a determination has none


class Api:
    """The one API as the console sees it, remembering what it was asked and with whose token."""

    def __init__(self) -> None:
        self.asked: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request)
        path = request.url.path
        if path == "/v1/purchasers":
            return httpx.Response(200, json={"region": "210100", "period": "2026", "items": []})
        if path == "/v1/purchasers/P1/assessment":
            return httpx.Response(200, json=RESULT)
        if path == "/v1/inspections/draws":
            return httpx.Response(200, json={"items": [], "total": 0})
        if path == "/v1/tasks":
            return httpx.Response(200, json={"items": [], "total": 0, "limit": 25, "offset": 0, "as_of": "2027-01-06"})
        return httpx.Response(404, json={"title": "not found"})


@pytest.fixture
def console() -> Iterator[tuple[FastAPI, Api]]:
    app = FastAPI()
    app.include_router(evaluation_router)
    app.include_router(signal_router)
    app.state.settings = Settings()
    api = Api()
    app.state.api = httpx.AsyncClient(transport=httpx.MockTransport(api), base_url="http://api")
    yield app, api


PAGES = (
    "/console/evaluations?kind=purchaser&period=2026",
    "/console/evaluations/purchaser/P1?region=210102&period=2026",
    "/console/evaluations/draws",
    "/console/signals",
)


@pytest.mark.parametrize("path", PAGES)
async def test_a_finance_officer_sees_the_page(console: tuple[FastAPI, Api], path: str) -> None:
    app, api = console
    officer = token("finance_officer", "210100", "210100", sub="officer-sy")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        client.cookies.set(COOKIE, officer)
        r = await client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert api.asked and all(a.headers["authorization"] == f"Bearer {officer}" for a in api.asked)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    "role,org",
    [("subject", "91410300MA0000001X"), ("agency", "91210100MA0000001X"), ("purchaser", "12210100MB0000011A")],
)
async def test_a_supplier_agency_or_purchaser_is_refused_and_the_api_not_asked(
    console: tuple[FastAPI, Api], path: str, role: str, org: str
) -> None:
    app, api = console
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        client.cookies.set(COOKIE, token(role, org, "210100"))
        r = await client.get(path)
    assert r.status_code == 403
    assert "工作台供财政部门经办人、主管和管理员使用" in r.text and "复核后" not in r.text
    assert api.asked == []


@pytest.mark.parametrize("path", PAGES)
async def test_a_caller_without_a_session_gets_the_sign_in_page(console: tuple[FastAPI, Api], path: str) -> None:
    app, api = console
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        r = await client.get(path)
        client.cookies.set(COOKIE, "not-a-token")
        forged = await client.get(path)
    assert r.status_code == 200 and 'id="signin"' in r.text and "复核后" not in r.text
    assert forged.status_code == 200 and 'id="signin"' in forged.text
    assert api.asked == []
