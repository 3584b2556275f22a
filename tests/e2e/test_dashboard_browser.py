"""The statistics dashboard in a real browser (issue 17; Debian's chromium driven by Playwright),
through the gateway on the real stack: records reported in two counties reach the dashboard, which
shows its charts (inline SVG, nothing requested outside 127.0.0.1) with each chart's numbers one
click away, a region or period filter changes the figures, an XLSX export downloads and is read
back, and at 390 px nothing scrolls sideways. Screenshots are kept under tests/artifacts/dashboard/
(gitignored)."""

import io

import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, expect

from tests.conftest import ARTIFACTS, bearer, token
from tests.e2e.test_console_browser import DESKTOP, PHONE, Offline, browser, no_horizontal_scroll  # noqa: F401
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, report_data
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
SUPERVISOR = {"role": "supervisor", "org": "410300", "region": "410300", "sub": "dashboard-supervisor"}
SHOTS = ARTIFACTS / "dashboard"


async def seeded(api: httpx.AsyncClient) -> None:
    """Two general records in 410322 and one in 410323, counted by the read model."""
    for region, n in (("410322", 2), ("410323", 1)):
        for _ in range(n):
            r = await api.post(
                "/v1/reports",
                json=report_data(code="SUP-G-01", region=region),
                headers=bearer("purchaser", PURCHASER_ID, region),
            )
            assert r.status_code == 201, r.text

    async def figures() -> dict:
        r = await api.get("/v1/statistics/dashboard", params={"region": "410323"}, headers=bearer(**SUPERVISOR))
        return r.json()

    await eventually(figures, until=lambda f: f["summary"]["records_in_force"] >= 1, timeout=60)


async def open_dashboard(chromium: Browser, stack: Stack, viewport: dict, offline: Offline, query: str = "") -> Page:
    context = await chromium.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)  # type: ignore[arg-type]
    await offline.attach(context)
    page = await context.new_page()
    await page.goto(f"{stack.api}/console")
    await page.fill("#token", token(**SUPERVISOR))
    await page.click("#signin")
    await expect(page.get_by_role("heading", name="待办任务")).to_be_visible()
    await page.goto(f"{stack.api}/console/dashboard{query}")
    await expect(page.locator("form.filters")).to_be_visible()
    return page


async def figure(page: Page, key: str) -> int:
    return int((await page.locator(f'[data-figure="{key}"] b').inner_text()).strip())


async def test_the_dashboard_shows_filters_and_exports(stack: Stack, api: httpx.AsyncClient, browser: Browser) -> None:  # noqa: F811
    await seeded(api)
    offline = Offline()
    page = await open_dashboard(browser, stack, DESKTOP, offline)
    charts = page.locator("figure[data-chart] svg")
    assert await charts.count() >= 5
    await expect(page.locator('figure[data-chart="months"] svg .mark').first).to_be_attached()
    await expect(page.locator("figcaption").first).to_contain_text("有效记录")
    city = await figure(page, "records_in_force")
    assert city >= 3
    # The numbers behind a chart: one click.
    table = page.locator('figure[data-chart="in_force"] details')
    await table.locator("summary").click()
    await expect(table.locator("table")).to_be_visible()
    await expect(table.locator("th").first).to_have_text("主体类型")
    await expect(table).to_contain_text("供应商")
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "dashboard-1366.png"), full_page=True)

    # A filter: the sibling county alone, then a period before anything was recorded.
    await page.fill('input[name="region"]', "410323")
    await page.click("form.filters button")
    await expect(page.locator("main > p").first).to_contain_text("410323")
    county = await figure(page, "records_in_force")
    assert 1 <= county < city
    await page.fill('input[name="region"]', "410300")
    await page.fill('input[name="from"]', "2021-01")
    await page.fill('input[name="to"]', "2021-02")
    await page.click("form.filters button")
    await expect(page.locator("main > p").first).to_contain_text("2021-01 至 2021-02")
    assert await figure(page, "records_new") == 0

    # An export, filtered as on screen, downloaded and read back.
    await page.fill('input[name="region"]', "410300")
    await page.fill('input[name="from"]', "2026-01")
    await page.fill('input[name="to"]', "2026-12")
    await page.click("form.filters button")
    async with page.expect_download() as info:
        await page.locator('section [data-table="divisions"] + .exports a', has_text="XLSX").click()
    download = await info.value
    path = SHOTS / "divisions.xlsx"
    await download.save_as(str(path))
    sheet = load_workbook(io.BytesIO(path.read_bytes())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "行政区划 410300" and rows[1][0] == "行政区划代码"
    assert {"410322", "410323"} <= {r[0] for r in rows[2:]}
    assert offline.outside() == []


async def test_the_dashboard_on_a_phone(stack: Stack, api: httpx.AsyncClient, browser: Browser) -> None:  # noqa: F811
    offline = Offline()
    page = await open_dashboard(browser, stack, PHONE, offline)
    await expect(page.locator("figure[data-chart] svg").first).to_be_visible()
    # The divisions' table is open from the start: its seven columns scroll inside their box only.
    await expect(page.locator('section [data-table="divisions"] table')).to_be_visible()
    await no_horizontal_scroll(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "dashboard-390.png"), full_page=True)
    assert offline.outside() == []
