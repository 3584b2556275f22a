"""The case officers' console and the API docs in a real browser (Debian's chromium driven by
Playwright; nothing downloads a browser), through the gateway on the real stack, at 1366×768 and
390×844: an officer finds a task by USCC, a refused decision keeps the reason and shows the field's
error, after a decision the page links to what it made (the listing task, then the record), the
supplier is on the public blacklist; on a phone the rows are cards with no horizontal scroll; the
chart row and /docs render with no request leaving 127.0.0.1. Screenshots are kept under
tests/artifacts/console/ (gitignored)."""

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, async_playwright, expect

from tests.conftest import ARTIFACTS, bearer, token
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, determination, report_data
from tests.support.poll import eventually

pytestmark = pytest.mark.connected

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OFFICER = {"role": "finance_officer", "org": "410300", "region": "410300", "sub": "console-officer"}
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SHOTS = ARTIFACTS / "console"
LOCAL = "127.0.0.1"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: deploy/test.sh installs it (apt-get install chromium)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


class Offline:
    """Every request the page makes; any that would leave 127.0.0.1 is refused and remembered."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def attach(self, context: BrowserContext) -> None:
        context.on("request", lambda r: self.urls.append(r.url))
        await context.route("**/*", self._route)

    async def _route(self, route, request: Request) -> None:  # type: ignore[no-untyped-def]
        if urlsplit(request.url).hostname == LOCAL or request.url.startswith(("data:", "about:")):
            await route.continue_()
        else:
            await route.abort()

    def outside(self) -> list[str]:
        return [u for u in self.urls if urlsplit(u).hostname not in (LOCAL, None) and not u.startswith("data:")]


async def signed_in(browser: Browser, stack: Stack, viewport: dict, offline: Offline | None = None) -> Page:
    context = await browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
    if offline is not None:
        await offline.attach(context)
    page = await context.new_page()
    await page.goto(f"{stack.api}/console")
    await expect(page.get_by_role("heading", name="登录")).to_be_visible()
    await page.fill("#token", token(**OFFICER))
    await page.click("#signin")
    await expect(page.get_by_role("heading", name="待办任务")).to_be_visible()
    return page


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / name), full_page=True)


async def no_horizontal_scroll(page: Page) -> None:
    width, viewport = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width == viewport, f"the page is {width}px wide in a {viewport}px viewport"


async def reported(api: httpx.AsyncClient, **over: object) -> tuple[str, str]:
    data = report_data(code="SUP-S-05", region="410322", **over)  # type: ignore[arg-type]
    r = await api.post("/v1/reports", json=data, headers=bearer("purchaser", PURCHASER_ID, "410322"))
    assert r.status_code == 202, r.text
    task_id = r.json()["task_id"]
    await eventually(
        lambda: api.get(f"/v1/tasks/{task_id}", headers=bearer(**OFFICER)), until=lambda r: r.status_code == 200
    )
    return task_id, data["subject"]["id"]


async def test_an_officer_finds_decides_and_follows_a_determination_in_the_console(
    stack: Stack, api: httpx.AsyncClient, browser: Browser
) -> None:
    task_id, supplier = await reported(api)
    await reported(api)  # another task, which the search must leave out
    offline = Offline()
    page = await signed_in(browser, stack, DESKTOP, offline)

    # The chart row, drawn on the server: no request leaves 127.0.0.1.
    await expect(page.locator("#charts svg#chart-kinds")).to_be_visible()
    await expect(page.locator("#charts svg#chart-trend")).to_be_visible()
    await expect(page.locator("#chart-kinds")).to_contain_text("严重失信认定")
    # Search by the supplier's USCC finds its task and only it.
    await page.fill("#q", supplier)
    await page.click("#apply")
    row = page.locator(f'tr[data-task="{task_id}"]')
    await expect(row).to_be_visible()
    await expect(page.locator("#queue tbody tr")).to_have_count(1)
    await expect(row).to_contain_text("SUP-S-05")
    await expect(row.locator(".days-left")).to_contain_text("个工作日")
    await expect(page.locator("#counts-region")).to_contain_text("410322")
    replicas = page.locator("#replicas")
    await expect(replicas).to_contain_text("appeal")
    await expect(replicas).not_to_contain_text("not answering")
    await shot(page, "queue_1366.png")
    (cookie,) = [c for c in await page.context.cookies() if c["name"] == "credit_console_token"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/console")

    await row.get_by_role("link").first.click()
    await expect(page.locator("#report-words")).to_contain_text("投标文件中的业绩证明与实际不符")
    await expect(page.locator("#plan")).to_contain_text("提醒")
    await expect(page.locator("#audit")).to_contain_text("created")
    await page.click("#claim")
    await expect(page.get_by_role("status")).to_contain_text("已认领")

    # Refused: no liability end date. The reason is kept and the field says what is wrong.
    d = determination()
    await page.check("#decision-determine")
    for field in ("decision_no", "decided_on", "penalty"):
        await page.fill(f"#{field}", d[field])
    reason = "经查证，投标文件业绩造假属实"
    await page.fill("#reason", reason)
    await page.click("#complete")
    await expect(page.get_by_role("alert")).to_contain_text("未能办理")
    await expect(page.locator("#liability_ends_on-error")).to_be_visible()
    await expect(page.locator("#liability_ends_on")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#reason")).to_have_value(reason)
    await expect(page.locator("#decision_no")).to_have_value(d["decision_no"])
    assert "/complete" not in page.url  # post/redirect/get: a reload does not post again
    await shot(page, "task_refused_1366.png")

    await page.fill("#liability_ends_on", d["liability_ends_on"])
    await page.click("#complete")
    await expect(page.get_by_role("status")).to_contain_text("已办结")
    await expect(page.locator("#made")).to_contain_text("列入名单确认")
    await shot(page, "task_decided_1366.png")

    # The listing confirmation (issue 16 point 5), then the record it made, linked from the page.
    listing_id = f"{task_id}:listing"
    await eventually(
        lambda: api.get(f"/v1/tasks/{listing_id}", headers=bearer(**OFFICER)), until=lambda r: r.status_code == 200
    )
    await page.click("#listing-link")
    await page.click("#claim")
    await page.check("#decision-confirm")
    await page.fill("#reason", "未提出陈述申辩")
    await page.click("#complete")
    await expect(page.get_by_role("status")).to_contain_text("已办结")

    async def record_link() -> int:
        await page.reload()
        return await page.locator("#made a.record-link").count()

    await eventually(record_link, until=lambda n: n == 1, timeout=60)
    await shot(page, "listing_confirmed_1366.png")
    await page.click("#made a.record-link")
    await expect(page.locator("#record")).to_contain_text("SUP-S-05")
    await expect(page.locator("#access-request, #evidence")).not_to_have_count(0)

    async def listed() -> set[str]:
        body = (await api.get("/v1/blacklist", params={"region": "410322", "limit": 500})).json()
        return {e["subject"]["id"] for e in body["entries"]}

    await eventually(listed, until=lambda ids: supplier in ids, timeout=60)
    assert offline.outside() == []


async def test_on_a_phone_the_queue_is_cards_with_no_horizontal_scroll(
    stack: Stack, api: httpx.AsyncClient, browser: Browser
) -> None:
    task_id, _ = await reported(api)
    offline = Offline()
    page = await signed_in(browser, stack, PHONE, offline)
    await expect(page.locator(f'tr[data-task="{task_id}"]')).to_be_visible()
    await expect(page.locator("#queue thead")).to_be_hidden()  # each row is a card
    await expect(page.locator("#charts svg#chart-trend")).to_be_visible()
    await no_horizontal_scroll(page)
    await shot(page, "queue_390.png")
    await page.locator(f'tr[data-task="{task_id}"]').get_by_role("link").first.click()
    await expect(page.locator("#report-words")).to_be_visible()
    await no_horizontal_scroll(page)
    await shot(page, "task_390.png")
    await page.click("#lang")  # the language switch keeps the page
    await expect(page.locator("#plan")).to_contain_text("Reminders and escalations")
    assert offline.outside() == []


async def test_the_api_docs_render_with_no_request_leaving_127_0_0_1(stack: Stack, browser: Browser) -> None:
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    offline = Offline()
    await offline.attach(context)
    page = await context.new_page()
    await page.goto(f"{stack.api}/docs")
    await expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=30_000)
    await expect(page.locator(".swagger-ui")).to_contain_text("/v1/credit/{subject_type}/{subject_id}")
    await expect(page.locator(".swagger-ui")).to_contain_text("/v1/credit/search")
    await shot(page, "docs_1366.png")
    assert offline.outside() == [], offline.outside()
    assert all(urlsplit(u).hostname == LOCAL for u in offline.urls if u.startswith("http"))
    await context.close()


async def test_a_form_without_its_csrf_token_is_refused(stack: Stack, browser: Browser) -> None:
    page = await signed_in(browser, stack, DESKTOP)
    # A POST with the session cookie but without the form's token changes nothing.
    r = await page.request.post(f"{stack.api}/console/tasks/task-nope/claim", form={"csrf": "forged"})
    assert r.status == 403 and "invalid form token" in await r.text()
