"""The officer's evaluation adjustment in the console (adjustment_form.py), against the real
evaluations API over SQLite: the form under a result for the roles the API's endpoint takes, the
API's refusal shown on each field in Chinese with what was typed kept, a successful entry listed
with its reason afterwards; every other role neither sees the form nor gets a post through, and the
API is not even asked."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.casework.console.adjustment_form import adjustment_body, adjustment_errors, adjustment_form, entered_text
from services.casework.console.evaluation_routes import router as evaluation_router
from services.casework.console.flash import FLASH_COOKIE
from services.casework.console.routes import COOKIE, _csrf
from services.casework.models import MIGRATIONS, TABLES
from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.settings import Settings
from services.evaluations.app import create_app
from services.evaluations.models import ENTRIES
from services.evaluations.models import TABLES as EVALUATION_TABLES
from tests.conftest import token
from tests.support.evaluations_year import A_AVERAGE, AVERAGE, PERIOD, load_year
from tests.unit.test_http_routers import serve

SHENYANG = token("finance_officer", "210100", "210100", sub="officer-sy")
PAGE = f"/console/evaluations/purchaser/{AVERAGE}?region=210102&period={PERIOD}"
POST = f"/console/evaluations/purchaser/{AVERAGE}/adjustment"
REASON = "一项逾期系<系统故障>所致"


class Recording(httpx.AsyncBaseTransport):
    """The evaluations API as the console reaches it, remembering every request."""

    def __init__(self, app: FastAPI) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.asked: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request)
        return await self.inner.handle_async_request(request)


@dataclass
class Console:
    app: FastAPI
    api: Recording
    evaluations: AsyncEngine

    def browser(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test", cookies={COOKIE: who}
        )

    def csrf(self, who: str) -> str:
        return _csrf(SimpleNamespace(app=self.app), who)  # type: ignore[arg-type]

    async def entries(self) -> list[dict]:
        async with self.evaluations.connect() as conn:
            rows = (await conn.execute(select(ENTRIES).where(ENTRIES.c.indicator == "adjustment"))).mappings()
            return [dict(r) for r in rows]


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    evaluations_app = create_app(Settings(credit_var_dir=tmp_path))
    evaluations, client = await serve(tmp_path, "evaluations", evaluations_app, EVALUATION_TABLES)
    await client.aclose()
    async with evaluations.begin() as conn:
        await load_year(conn)  # Shenyang's purchasers in 210102, Xuchang's agencies in 411002
    casework = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'casework.db'}")
    await migrate(casework, "casework", MIGRATIONS, TABLES)
    app = FastAPI()
    app.include_router(evaluation_router)
    app.state.settings = Settings()
    app.state.runtime = SimpleNamespace(engine=casework)
    api = Recording(evaluations_app)
    app.state.api = httpx.AsyncClient(transport=api, base_url="http://api")
    yield Console(app, api, evaluations)
    await app.state.api.aclose()
    await casework.dispose()
    await evaluations.dispose()


async def submit(
    console: Console, who: str, typed: dict[str, str], page: str = PAGE, status: int = 200
) -> tuple[httpx.Response, str]:
    """As the officer's browser does: the result's page, its form filled in and posted, then the page
    the redirect leads to."""
    async with console.browser(who) as browser:
        shown = await browser.get(page)
        form = shown.text.split('id="adjust" novalidate>')[1].split("</form>")[0]
        # What the form sends untouched: its hidden fields and the text fields as filled in.
        filled = dict(re.findall(r'<input type="(?:hidden|text)"(?: id="[^"]+")? name="([^"]+)" value="([^"]*)"', form))
        action = re.findall(r'action="([^"]+)" class="box" id="adjust"', shown.text)[0]
        posted = await browser.post(action, data={**filled, **typed})
        assert posted.status_code == 303, posted.text
        assert FLASH_COOKIE in posted.cookies
        shown = await browser.get(posted.headers["location"].split("#")[0])
    assert shown.status_code == status, shown.text
    return posted, shown.text


@pytest.mark.parametrize("role", ["finance_officer", "supervisor"])
async def test_an_officer_or_supervisor_sees_the_form_with_the_pages_region_and_year(
    console: Console, role: str
) -> None:
    who = token(role, "210100", "210100")  # minted once: a token's iat is in seconds, and so its CSRF
    async with console.browser(who) as browser:
        r = await browser.get(PAGE)
    assert r.status_code == 200, r.text
    form = r.text.split('<form method="post" action="/console/evaluations/purchaser/')[1].split("</form>")[0]
    assert form.startswith(f'{AVERAGE}/adjustment" class="box" id="adjust" novalidate>')
    assert f'name="csrf" value="{console.csrf(who)}"' in form
    assert 'name="region" value="210102"' in form and f'name="period" value="{PERIOD}"' in form
    assert 'name="points" value=""' in form and 'name="reason" rows="3"></textarea>' in form
    assert "录入调整" in form and "提交调整" in form and "负数为扣分" in form
    assert 'id="adjust-published"' not in form  # a current computation, not published
    assert "无调整。" in r.text.split('id="adjustments"')[1]


async def test_a_successful_adjustment_is_entered_and_listed_with_its_reason(console: Console) -> None:
    posted, page = await submit(console, SHENYANG, {"points": "2", "reason": REASON})  # the page's region and year
    assert posted.headers["location"] == PAGE + "#adjustments"
    (entry,) = await console.entries()
    assert (entry["subject_id"], entry["region"], entry["period"]) == (AVERAGE, "210102", PERIOD)
    assert (entry["points"], entry["reason"], entry["officer"]) == (2, REASON, "officer-sy")
    (asked,) = [a for a in console.api.asked if a.method == "POST"]
    assert asked.url.path == f"/v1/purchasers/{AVERAGE}/assessment/entries/adjustment"
    assert asked.headers["authorization"] == f"Bearer {SHENYANG}"
    # The API's answer said back, and the result read again: the adjustment listed, the total moved.
    assert 'class="ok" role="status">已录入调整：+2 分，理由：一项逾期系&lt;系统故障&gt;所致（officer-sy，' in page
    adjustments = page.split('id="adjustments"')[1].split("</table>")[0]
    assert "officer-sy" in adjustments and "一项逾期系&lt;系统故障&gt;所致" in adjustments and "<系统故障>" not in page
    assert 'id="total-score">76.0<' in page and 'id="grade">良好<' in page  # 74 合格 + 2
    assert 'name="points" value=""' in page  # a fresh form: nothing kept after success


async def test_an_agencys_adjustment_goes_to_the_agency_endpoint(console: Console) -> None:
    xuchang = token("finance_officer", "411000", "411000", sub="officer-xc")
    result = f"/console/evaluations/agency/{A_AVERAGE}?region=411002&period={PERIOD}"
    _, page = await submit(console, xuchang, {"points": "-4", "reason": "约谈后整改不到位"}, result)
    (asked,) = [a for a in console.api.asked if a.method == "POST"]
    assert asked.url.path == f"/v1/agencies/{A_AVERAGE}/evaluation/entries/adjustment"
    assert "已录入调整：-4 分，理由：约谈后整改不到位" in page
    assert "约谈后整改不到位" in page.split('id="adjustments"')[1] and 'id="total-score">75.0<' in page  # 79 − 4


async def test_the_apis_validation_errors_are_shown_on_their_fields_with_what_was_typed(console: Console) -> None:
    typed = {"region": "210102", "period": "26", "points": "两分", "reason": "   "}
    posted, page = await submit(console, SHENYANG, typed)
    assert posted.headers["location"].endswith("#adjust")
    assert await console.entries() == []
    assert 'class="error" role="alert">未能办理：请求无效 — 请求不符合接口要求；每个字段的错误见 errors。' in page
    form = page.split('id="adjust"')[1].split("</form>")[0]
    assert 'value="两分" inputmode="decimal" class="invalid" aria-invalid="true"' in form
    assert 'id="adjust-points-error">须为有限的数字：正数加分，负数减分。<' in form
    assert 'id="adjust-period-error">须为 4 位数字的年度，如 2026。<' in form
    assert 'id="adjust-reason-error">须写明理由，1 至 2000 字。<' in form
    assert 'id="adjust-region-error"' not in form and 'value="210102" inputmode="numeric">' in form
    # A number the API does not take (not finite) is refused there too, and nothing is entered.
    _, page = await submit(console, SHENYANG, {"region": "210102", "period": PERIOD, "points": "nan", "reason": "x"})
    assert 'id="adjust-points-error">须为有限的数字' in page and 'value="nan"' in page
    assert await console.entries() == []


async def test_a_region_outside_the_officers_or_without_the_policy_is_shown_on_the_region(console: Console) -> None:
    _, page = await submit(console, SHENYANG, {"region": "410302", "period": PERIOD, "points": "1", "reason": "x"})
    assert "未能办理：无权操作" in page
    assert 'id="adjust-region-error">该地区不在您所在财政部门（本级及下级）的管辖范围内。<' in page
    # An officer of Luoyang, on the purchaser's page in its own region: Shenyang's assessment does not
    # apply there (the page says so), nor may an adjustment be entered.
    luoyang = token("finance_officer", "410300", "410300", sub="officer-ly")
    there = f"/console/evaluations/purchaser/{AVERAGE}?region=410302&period={PERIOD}"
    _, page = await submit(console, luoyang, {"points": "1", "reason": "x"}, there, status=422)
    assert "未能办理：该地区无信用政策" in page
    assert 'id="adjust-region-error">该地区没有本系统收录的政府采购信用管理办法，不套用其他地区的规定。<' in page
    assert await console.entries() == []


@pytest.mark.parametrize(
    "role,org",
    [
        ("subject", "91210100MA0000001X"),
        ("agency", "91210100MA0000001X"),
        ("purchaser", AVERAGE),
        ("administrator", "210100"),
    ],
)
async def test_any_other_role_neither_sees_the_form_nor_gets_a_post_through(
    console: Console, role: str, org: str
) -> None:
    who = token(role, org, "210100")
    async with console.browser(who) as browser:
        shown = await browser.get(PAGE)
        # Even with the form's valid CSRF token for its own session, the post is refused.
        posted = await browser.post(POST, data={"csrf": console.csrf(who), "region": "210102", "period": PERIOD,
                                                "points": "5", "reason": "x"})  # fmt: skip
    assert shown.status_code == 403 and 'id="adjust"' not in shown.text
    assert posted.status_code == 403 and "只有财政部门经办人和主管可以录入考核评价调整。" in posted.text
    assert console.api.asked == [] and await console.entries() == []


async def test_a_post_without_a_session_or_with_a_forged_form_token_is_refused(console: Console) -> None:
    form = {"region": "210102", "period": PERIOD, "points": "5", "reason": "x"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=console.app), base_url="http://test") as anon:
        signed_out = await anon.post(POST, data={"csrf": console.csrf(SHENYANG), **form})
    async with console.browser(SHENYANG) as browser:
        forged = await browser.post(POST, data={"csrf": "0" * 40, **form})
    assert signed_out.status_code == 401 and 'id="signin"' in signed_out.text
    assert forged.status_code == 403 and "表单令牌无效" in forged.text
    assert console.api.asked == [] and await console.entries() == []


def test_a_published_result_warns_that_an_adjustment_no_longer_changes_it() -> None:
    params = {"region": "210102", "period": PERIOD}
    html = adjustment_form("purchaser", "P/1", params, csrf="c", lang="zh", published=True)
    assert 'action="/console/evaluations/purchaser/P%2F1/adjustment"' in html
    assert "该年度结果已公布：此后录入的调整予以留痕，但不改变已公布的结果。" in html


def test_the_body_sends_numbers_as_numbers_and_anything_else_as_typed() -> None:
    form = {"region": " 210102 ", "period": "2026", "points": " -1.5 ", "reason": " r "}
    assert adjustment_body(form) == {"region": "210102", "period": "2026", "points": -1.5, "reason": " r "}
    assert adjustment_body({**form, "points": "inf"})["points"] == "inf"
    assert adjustment_body({**form, "points": ""})["points"] == ""


def test_in_english_a_field_error_carries_the_apis_own_message() -> None:
    problem = {"code": "invalid_request", "errors": [{"loc": ["body", "points"], "msg": "Input should be a number"}]}
    assert adjustment_errors(problem, "en") == {"points": "Input should be a number (a finite number: positive adds, "
                                                          "negative deducts)"}  # fmt: skip
    forbidden = {"code": "forbidden", "detail": "region 410302 is outside your department's"}
    assert adjustment_errors(forbidden, "en") == {"region": "region 410302 is outside your department's"}
    assert adjustment_errors("not json", "zh") == {}


def test_an_entry_after_publication_is_said_to_leave_the_published_result() -> None:
    row = {"points": 2, "reason": "补录", "officer": "officer-sy", "entered_at": "2026-12-08T02:00:00+00:00"}
    assert "不改变已公布的结果" not in entered_text({**row, "changes_result": True}, "zh")
    late = entered_text({**row, "changes_result": False}, "zh")
    assert late.startswith("已录入调整：+2 分，理由：补录") and late.endswith("但不改变已公布的结果。")
    assert entered_text({**row, "changes_result": False}, "en").endswith("but does not change it.")
