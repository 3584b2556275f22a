"""The console's signals and evaluations pages in a real browser (issues 14 and 15; Debian's chromium
driven by Playwright), through the gateway on the real stack, at 1366×768 and 390×844:

- bids compiled on one machine reach a collusion triage, listed under 信用信号 and laid out side by
  side on its task page (a column per bidder, the machine id each bid carried highlighted);
- three unfounded complaints within 12 months reach a SUP-S-15 determination, its complaints listed
  with their window;
- an officer's adjustment entered in the console's form (the API's refusal shown on the field first),
  then the year of purchasers published: the ranked list with the grades, one purchaser's seven
  categories with each number's provenance and the adjustment's reason; a stored inspection draw in
  the draws' history;
- on a phone nothing scrolls sideways; no request leaves 127.0.0.1; a supplier's token gets nothing.
Screenshots are kept under tests/artifacts/signals/ (gitignored)."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.cloudevents import build_event
from services.common.db import make_engine
from services.common.topics import AWARD_NOTIFIED, BID_SUBMITTED, COMPLAINT_DECIDED, INBOUND_PROCUREMENT
from services.evaluations.activities import EvaluationActivities
from services.evaluations.figures import store_figures
from services.evaluations.scoring import OfficerEntry, Result
from services.evaluations.store import add_entry, save_result
from tests.conftest import ARTIFACTS, bearer, token
from tests.e2e.test_console_browser import DESKTOP, PHONE, Offline, browser, no_horizontal_scroll  # noqa: F401
from tests.stack import Stack
from tests.support.evaluations_year import OFFICER_INDICATORS
from tests.support.factories import PURCHASER_ID, new_uscc
from tests.support.kafka import produce
from tests.support.poll import eventually
from workflows.annual_evaluation.inputs import PublishRequest

pytestmark = pytest.mark.connected
SHOTS = ARTIFACTS / "signals"
LUOYANG = {"role": "finance_officer", "org": "410300", "region": "410300", "sub": "signals-console"}
SHENYANG = {"role": "finance_officer", "org": "210100", "region": "210100", "sub": "shenyang-console"}
XUCHANG = {"role": "finance_officer", "org": "411000", "region": "411000", "sub": "xuchang-console"}
PLATFORM = "urn:platform:luoyang-ggzy"
YEAR = "2025"  # not the connected evaluations test's year: the two share the stack's database
AT = datetime(2025, 12, 31, 8, 0, tzinfo=UTC)
# Bids and complaints pass the broker, the signals consumer, Temporal and casework before a task
# exists; on a loaded two-core machine the consumer alone was seen taking 90 s, so the deadline is wide.
SIGNAL_SECONDS = 300


def event(type_: str, data: dict) -> dict:
    return build_event(type=type_, source=PLATFORM, data=data, id=str(uuid.uuid4()))


async def signed_in(chromium: Browser, stack: Stack, who: dict, viewport: dict, offline: Offline) -> Page:
    context = await chromium.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
    await offline.attach(context)
    page = await context.new_page()
    await page.goto(f"{stack.api}/console")
    await page.fill("#token", token(**who))
    await page.click("#signin")
    await expect(page.get_by_role("heading", name="待办任务")).to_be_visible()
    return page


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / name), full_page=True)


async def collusion_triage(stack: Stack, api: httpx.AsyncClient) -> tuple[str, str, list[str]]:
    """Three bids made on one machine (and a fourth honest one) in a project of 410302; the award."""
    code = f"LYCG-{uuid.uuid4().hex[:8]}"
    fact = {"project": {"code": code, "name": "办公设备采购项目"}, "region": "410302",
            "purchaser": {"id": PURCHASER_ID, "name": "采购人"}, "at": datetime.now(UTC).isoformat()}  # fmt: skip
    suppliers = [new_uscc() for _ in range(4)]
    bids = [
        event(
            BID_SUBMITTED,
            {
                **fact,
                "supplier": {"id": s, "name": f"供应商{n}"},
                "price": price,
                "document_fingerprint": f"fp-{n}",
                "document": {"sha256": uuid.uuid4().hex * 2, "machine_id": "MACHINE-1" if n < 3 else f"M-{n}"},
            },
        )  # fmt: skip
        for n, (s, price) in enumerate(zip(suppliers, ("901234", "955555", "987001", "1000000"), strict=True))
    ]
    award = event(AWARD_NOTIFIED, {**fact, "supplier": {"id": suppliers[0], "name": "供应商0"}, "amount": "901234"})
    await produce(stack.bootstrap, INBOUND_PROCUREMENT, [*bids, award], key_of=lambda e: code)

    async def triage() -> list[dict]:
        # The title names the project (the task's subject is the group's first supplier by code).
        r = await api.get("/v1/tasks", params={"kind": "collusion_triage", "q": code, "limit": 10},
                          headers=bearer(**LUOYANG))  # fmt: skip
        return r.json()["items"]

    (task,) = await eventually(triage, until=lambda items: len(items) == 1, timeout=SIGNAL_SECONDS)
    return task["id"], code, suppliers


async def test_a_collusion_triage_is_listed_and_its_evidence_laid_out_side_by_side(
    stack: Stack,
    api: httpx.AsyncClient,
    browser: Browser,  # noqa: F811
) -> None:
    task_id, code, suppliers = await collusion_triage(stack, api)
    offline = Offline()
    page = await signed_in(browser, stack, LUOYANG, DESKTOP, offline)
    await page.click("#nav-nav_signals")
    await expect(page.get_by_role("heading", name="信用信号")).to_be_visible()
    await page.fill("#q", code)
    await page.click("#apply")
    row = page.locator(f'#signals tr[data-task="{task_id}"]')
    await expect(row).to_be_visible()
    await expect(page.locator("#signals tbody tr")).to_have_count(1)
    await expect(row.locator(".evidence-summary")).to_contain_text("同一电脑、网卡或 CA 锁编制")
    await expect(row.locator(".evidence-summary")).to_contain_text("3 家投标人")
    await shot(page, "signals_1366.png")

    await row.get_by_role("link").first.click()
    table = page.locator("#evidence-aligned")
    await expect(table).to_be_visible()
    for supplier in suppliers[:3]:
        await expect(table.locator(f'th[data-supplier="{supplier}"]')).to_be_visible()
    await expect(table.locator(f'th[data-supplier="{suppliers[3]}"]')).to_have_count(0)  # not of the group
    machine = table.locator('tr[data-indicator="same_machine"][data-field="machine_id"]')
    await expect(machine.locator("td.match mark")).to_have_count(3)
    await expect(machine.locator("td.match").first).to_have_text("MACHINE-1")
    await expect(machine.locator("th")).to_contain_text("洛阳办法第十条第1项")
    await shot(page, "triage_1366.png")
    assert offline.outside() == []

    phone = await signed_in(browser, stack, LUOYANG, PHONE, Offline())
    await phone.goto(f"{stack.api}/console/tasks/{task_id}")
    await expect(phone.locator("#evidence-aligned thead")).to_be_hidden()  # each row is a card
    await expect(phone.locator('#evidence-aligned tr[data-indicator="same_machine"] mark').first).to_be_visible()
    await no_horizontal_scroll(phone)
    await shot(phone, "triage_390.png")
    await phone.goto(f"{stack.api}/console/signals")
    await no_horizontal_scroll(phone)


async def test_repeat_complaints_show_the_complaints_in_their_window(
    stack: Stack,
    api: httpx.AsyncClient,
    browser: Browser,  # noqa: F811
) -> None:
    complainant = new_uscc()
    events = [
        event(
            COMPLAINT_DECIDED,
            {
                "project": {"code": f"P-{n}-{uuid.uuid4().hex[:6]}", "name": "项目"},
                "region": "410302",
                "complaint_no": f"TS-{complainant[-6:]}-{n}",
                "complainant": {"type": "supplier", "id": complainant, "name": "投诉人公司"},
                "decided_on": day,
                "outcome": "unfounded",
            },
        )  # fmt: skip
        for n, day in enumerate(("2026-01-10", "2026-05-10", "2026-11-10"), start=1)
    ]
    await produce(stack.bootstrap, INBOUND_PROCUREMENT, events, key_of=lambda e: complainant)

    async def asked() -> list[dict]:
        r = await api.get("/v1/tasks", params={"signal": "true", "q": complainant}, headers=bearer(**LUOYANG))
        return r.json()["items"]

    (task,) = await eventually(asked, until=lambda items: len(items) == 1, timeout=SIGNAL_SECONDS)
    offline = Offline()
    page = await signed_in(browser, stack, LUOYANG, DESKTOP, offline)
    await page.goto(f"{stack.api}/console/signals?tab=determinations&q={complainant}")
    row = page.locator(f'#signals tr[data-task="{task["id"]}"]')
    await expect(row.locator(".evidence-summary")).to_contain_text("3 件投诉 窗口 2026-01-10 至 2027-01-10")
    await row.get_by_role("link").first.click()
    await expect(page.locator("#complaint-window")).to_contain_text("2026-01-10 至 2027-01-10（12 个月）")
    await expect(page.locator("#complaints tbody tr.in-window")).to_have_count(3)
    await expect(page.locator("#complaints")).to_contain_text("查无实据")
    await shot(page, "complaints_1366.png")
    assert offline.outside() == []
    phone = await signed_in(browser, stack, LUOYANG, PHONE, Offline())
    await phone.goto(f"{stack.api}/console/tasks/{task['id']}")
    await expect(phone.locator("#complaints thead")).to_be_hidden()
    await no_horizontal_scroll(phone)
    await shot(phone, "complaints_390.png")


# Shenyang's policy (services/evaluations/policies/shenyang-assessment.json): the watch's rates
# (signing, publication), records in force and reports made from the replica, the officer's points
# (internal control, payment, policy functions, credit checks, bonus). By hand:
#   good 15 + (10 + 10) + 15 + 10 + 15 + (5 + 10) + 8 = 98 优秀; poor below 60, 较差.
PURCHASERS = {
    "12210100MB0000091A": ((1.0, 1.0), 0, 1, (15, 10, 10, 10, 8)),
    "12210100MB0000092A": ((0.5, 0.5), 4, 0, (5, 3, 3, 2, 0)),
}
AGENCIES = {"91411000MA0000091X": "A", "91411000MA0000092X": "D"}


async def purchaser_year(
    conn: AsyncConnection,
    subject: str,
    rates: tuple[float, float],
    records: int,
    reports: int,
    officer: tuple[float, float, float, float, float],
) -> None:
    """One purchaser's figures, as the evaluations service keeps them, and the officer's entries."""
    names = ("contract_signing_on_time_rate", "contract_publication_on_time_rate")
    read = {
        "watch": dict(zip(names, rates, strict=True)),
        "records": {"records_in_force": records, "reports_made": reports},
    }
    for source, values in read.items():
        await store_figures(conn, kind="purchaser", subject_id=subject, region="210102", period=YEAR,
                            figures=values, source=source, source_ref=f"{source} {YEAR}", at=AT)  # fmt: skip
    for code, points in zip(OFFICER_INDICATORS, officer, strict=True):
        entry = OfficerEntry(points, "年度检查结论", "officer-sy")
        await add_entry(conn, kind="purchaser", subject_id=subject, period=YEAR, region="210102",
                        indicator=code, entry=entry, at=AT)  # fmt: skip


def evaluations_engine(stack: Stack) -> AsyncEngine:
    return make_engine(stack.database_url.replace("postgresql://", "postgresql+asyncpg://", 1))


async def evaluations_year(stack: Stack) -> None:
    """Figures and officer entries of two Shenyang purchasers; two Xuchang agencies' published grades."""
    engine = evaluations_engine(stack)
    try:
        async with engine.begin() as conn:
            for subject, (rates, records, reports, officer) in PURCHASERS.items():
                await purchaser_year(conn, subject, rates, records, reports, officer)
            for subject, grade in AGENCIES.items():
                result = Result(total=90 if grade == "A" else 40, grade=grade, lines=())
                await save_result(conn, kind="agency", subject_id=subject, period=YEAR, region="411002", policy="004",
                                  result=result, lines=[], state="published", at=AT)  # fmt: skip
    finally:
        await engine.dispose()


async def adjusted_in_the_console(page: Page, stack: Stack, subject: str) -> None:
    """The officer's adjustment through the console's form: refused by the API first (no reason), the
    refusal shown on the field in Chinese with the points kept; then entered, said back and listed."""
    await page.goto(f"{stack.api}/console/evaluations/purchaser/{subject}?region=210102&period={YEAR}")
    form = page.locator("#adjust")
    await expect(form.locator("#adjust-region")).to_have_value("210102")
    await form.locator("#adjust-points").fill("2")
    await form.locator("#adjust-submit").click()
    await expect(page.locator("#adjust-reason-error")).to_have_text("须写明理由，1 至 2000 字。")
    await expect(page.locator("#adjust-reason")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("main .error").first).to_contain_text("未能办理：请求无效")
    await expect(page.locator("#adjust-points")).to_have_value("2")  # what was typed is kept
    await page.locator("#adjust-reason").fill("一项逾期系系统故障所致")
    await page.locator("#adjust-submit").click()
    await expect(page.locator("main .ok")).to_contain_text(
        "已录入调整：+2 分，理由：一项逾期系系统故障所致（shenyang-console"
    )
    await expect(page.locator("#adjustments")).to_contain_text("一项逾期系系统故障所致")
    await expect(page.locator("#adjust-points")).to_have_value("")
    await shot(page, "adjustment_1366.png")


async def publish_and_draw(stack: Stack, api: httpx.AsyncClient) -> None:
    """The year published (the run's publish activity: the adjustment counts); a Xuchang draw."""
    engine = evaluations_engine(stack)
    try:
        await EvaluationActivities(engine).publish_evaluations(
            PublishRequest(
                kind="purchaser",
                region="210100",
                period=YEAR,
                task_id="browser-test",
                reviewed_by="shenyang-console",
                reviewed_at=AT,
            )  # fmt: skip
        )
    finally:
        await engine.dispose()
    draw = await api.get("/v1/inspections/sample", params={"region": "411000", "kind": "agency", "size": 1, "seed": 5},
                         headers=bearer(**XUCHANG))  # fmt: skip
    assert draw.status_code == 200, draw.text


async def test_the_evaluations_pages_show_ranks_grades_provenance_and_draws(
    stack: Stack,
    api: httpx.AsyncClient,
    browser: Browser,  # noqa: F811
) -> None:
    await evaluations_year(stack)
    good, poor = PURCHASERS
    offline = Offline()
    page = await signed_in(browser, stack, SHENYANG, DESKTOP, offline)
    await adjusted_in_the_console(page, stack, poor)
    await publish_and_draw(stack, api)
    await page.goto(f"{stack.api}/console")
    await page.click("#nav-nav_evaluations")
    await page.click("#tab-purchaser")
    await page.fill("#f-period", YEAR)
    await page.click("#apply")
    published = page.locator("#published")
    await expect(published.locator(f'tr[data-subject="{good}"]')).to_contain_text("优秀")
    await expect(published.locator("tbody tr").first).to_have_attribute("data-subject", good)  # ranked
    await expect(page.locator('#grades [data-grade="优秀"]')).to_contain_text("1")
    await shot(page, "evaluations_1366.png")

    await published.locator(f'tr[data-subject="{poor}"] a').click()
    await expect(page.locator("#lines tr.category")).to_have_count(7)
    await expect(page.locator('#lines tr.category[data-category="internal_control"]')).to_contain_text("内部控制管理")
    await expect(page.locator('#lines tr[data-line="internal_control.findings"]')).to_contain_text(
        "officer-sy 录入：年度检查结论"
    )
    await expect(page.locator('#lines tr[data-line="efficiency.contract_on_time"]')).to_contain_text(f"watch {YEAR}")
    await expect(page.locator("#adjustments")).to_contain_text("一项逾期系系统故障所致")
    await expect(page.locator("#adjust-published")).to_contain_text("该年度结果已公布")
    await expect(page.locator("#grade")).to_be_visible()
    await shot(page, "assessment_1366.png")
    assert offline.outside() == []

    phone = await signed_in(browser, stack, SHENYANG, PHONE, Offline())
    await phone.goto(f"{stack.api}/console/evaluations/purchaser/{poor}?region=210102&period={YEAR}")
    await expect(phone.locator("#lines thead")).to_be_hidden()
    await no_horizontal_scroll(phone)
    await shot(phone, "assessment_390.png")

    xuchang = await signed_in(browser, stack, XUCHANG, DESKTOP, Offline())
    await xuchang.goto(f"{stack.api}/console/evaluations/draws?region=411000&kind=agency")
    rows = xuchang.locator("#draws tbody tr[data-draw]")
    await expect(rows.first).to_be_visible()
    await expect(xuchang.locator("#draws")).to_contain_text("xuchang-console")
    await shot(xuchang, "draws_1366.png")
    await xuchang.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await no_horizontal_scroll(xuchang)


async def test_a_suppliers_token_gets_no_signals_or_evaluations_page(stack: Stack, browser: Browser) -> None:  # noqa: F811
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")  # type: ignore[arg-type]
    supplier = token("subject", new_uscc(), "410300")
    host = stack.api.split("//", 1)[1].split(":")[0]
    await context.add_cookies([{"name": "credit_console_token", "value": supplier, "domain": host, "path": "/console"}])
    page = await context.new_page()
    for path in ("/console/signals", "/console/evaluations", "/console/evaluations/draws"):
        response = await page.goto(f"{stack.api}{path}")
        assert response is not None and response.status == 403
        await expect(page.locator("main")).to_contain_text("工作台供财政部门经办人、主管和管理员使用")
    await context.close()
