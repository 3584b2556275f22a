"""The case officers' console in a real browser (Debian's chromium driven by Playwright; nothing
downloads a browser), through the gateway on the real stack: an officer signs in with a token,
claims a determination task, determines it, and the supplier is on the public blacklist. The queue
page is kept as a screenshot (tests/artifacts/console_queue.png)."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect

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


async def test_an_officer_determines_a_reported_serious_behaviour_in_the_console(
    stack: Stack, api: httpx.AsyncClient, browser: Browser
) -> None:
    data = report_data(code="SUP-S-05", region="410322")
    r = await api.post("/v1/reports", json=data, headers=bearer("purchaser", PURCHASER_ID, "410322"))
    assert r.status_code == 202, r.text
    task_id, supplier = r.json()["task_id"], data["subject"]["id"]
    officer = bearer(**OFFICER)
    await eventually(lambda: api.get(f"/v1/tasks/{task_id}", headers=officer), until=lambda r: r.status_code == 200)

    page = await (await browser.new_context()).new_page()
    await page.goto(f"{stack.api}/console")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.fill("#token", token(**OFFICER))
    await page.click("#signin")
    row = page.locator(f'tr[data-task="{task_id}"]')
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("SUP-S-05")
    await expect(page.locator("#counts-region")).to_contain_text("410322")
    # The lag of the replicas of credit.records (issue 23), read from the services' /readyz.
    replicas = page.locator("#replicas")
    await expect(replicas).to_contain_text("appeal")
    await expect(replicas).to_contain_text("repair")
    await expect(replicas).not_to_contain_text("not answering")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console_queue.png"), full_page=True)
    # The token is kept where scripts cannot read it.
    (cookie,) = await page.context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/console")

    await row.get_by_role("link").click()
    await expect(page.locator("#audit")).to_contain_text("created")
    await expect(page.locator("#related")).to_contain_text(f"/v1/determinations/{task_id}")
    await page.click("#claim")
    await expect(page.get_by_role("status")).to_contain_text("claim")
    d = determination()
    await page.check("#decision-determine")
    for field in ("decision_no", "decided_on", "liability_ends_on", "penalty"):
        await page.fill(f"#{field}", d[field])
    await page.fill("#reason", "经查证，投标文件业绩造假属实")
    await page.screenshot(path=str(ARTIFACTS / "console_task.png"), full_page=True)
    await page.click("#complete")
    await expect(page.get_by_role("status")).to_contain_text("complete")
    await expect(page.locator("#audit")).to_contain_text("completed")

    async def listed() -> set[str]:
        body = (await api.get("/v1/blacklist", params={"region": "410322", "limit": 500})).json()
        return {e["subject"]["id"] for e in body["entries"]}

    # Issue 16 point 5: the determination lists once its listing_confirmation task is confirmed
    # (Luoyang sets no statement window: the officer confirms), here in the console too.
    listing_id = f"{task_id}:listing"
    await eventually(lambda: api.get(f"/v1/tasks/{listing_id}", headers=officer), until=lambda r: r.status_code == 200)
    assert supplier not in await listed()
    await page.goto(f"{stack.api}/console")
    await page.locator(f'tr[data-task="{listing_id}"]').get_by_role("link").click()
    await page.click("#claim")
    await expect(page.get_by_role("status")).to_contain_text("claim")
    await page.check("#decision-confirm")
    await page.fill("#reason", "未提出陈述申辩")
    await page.click("#complete")
    await expect(page.get_by_role("status")).to_contain_text("complete")
    await eventually(listed, until=lambda ids: supplier in ids, timeout=60)


async def test_a_form_without_its_csrf_token_is_refused(stack: Stack, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{stack.api}/console")
    await page.fill("#token", token(**OFFICER))
    await page.click("#signin")
    await expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
    # A POST with the session cookie but without the form's token changes nothing.
    r = await page.request.post(f"{stack.api}/console/tasks/task-nope/claim", form={"csrf": "forged"})
    assert "invalid form token" in await r.text()
