"""Working days on the real stack (issue 12): the stack has no 2027 data (as production until the
State Council's notice is installed), so an appeal filed now opens its review task at once with a
provisional due date; an administrator installs the arrangement (a finance officer may not; a
malformed body names its field); the year is then official and the open task is re-planned.

The test county 410398 (tests/fixtures/policies) gives appeal reviews 40 working days, so a task
opened in December is due next year. The arrangement installed is a TEST FIXTURE, NOT OFFICIAL DATA:
the law's days of the year, with the 调休 pattern of tests/fixtures/calendars/2027.json for 2027."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from services.common.arrangements import provisional
from services.common.lawdates import local_date
from services.common.topics import CALENDAR, CALENDAR_INSTALLED
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import evidence, new_uscc, report_data
from tests.support.kafka import collect
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
COUNTY = "410398"
RECORDER = bearer("finance_officer", "410300", "410300", sub="officer-a")
REVIEWER = bearer("finance_officer", "410300", "410300", sub="officer-b")
ADMIN = bearer("administrator", "410000", "410000", sub="admin-1")
FIXTURE = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "calendars" / "2027.json").read_text())


def arrangement(year: int) -> dict:
    """TEST FIXTURE, NOT OFFICIAL DATA (see the module's docstring)."""
    extra = FIXTURE if year == FIXTURE["year"] else {"holidays": [], "workdays": []}
    holidays = sorted({*(d.isoformat() for d in provisional(year).holidays), *extra["holidays"]})
    today = local_date(datetime.now(UTC))
    return {
        "notice": {"number": "TEST FIXTURE, NOT OFFICIAL DATA", "date": today.isoformat()},
        "holidays": holidays,
        "workdays": extra["workdays"],
    }


async def appeal_review_task(api: httpx.AsyncClient) -> tuple[dict, dict, dict]:
    """The open review task of an appeal filed now, the appeal as filed, and the appellant's headers."""
    supplier = new_uscc()
    data = report_data(subject_id=supplier, code="SUP-G-01", reporter_type="finance", region=COUNTY)
    made = await api.post("/v1/reports", json=data, headers=RECORDER)
    assert made.status_code == 201, made.text
    record_id = made.json()["record_id"]
    body = {"record_id": record_id, "grounds": "记录所依据的事实有误，见附件", "evidence": evidence(1)}

    async def appeal() -> httpx.Response:
        return await api.post("/v1/appeals", json=body, headers=bearer("subject", supplier, COUNTY))

    filed = await eventually(appeal, until=lambda r: r.status_code != 404, timeout=60)
    assert filed.status_code == 201, filed.text

    async def tasks() -> list[dict]:
        r = await api.get("/v1/tasks", params={"record_id": record_id, "kind": "appeal_review"}, headers=REVIEWER)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    (task,) = await eventually(tasks, until=lambda items: len(items) == 1, timeout=60)
    return task, filed.json(), bearer("subject", supplier, COUNTY)


async def test_a_task_due_in_a_year_not_announced_opens_provisional_until_the_arrangement_is_installed(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    task, filed, appellant = await appeal_review_task(api)
    year = date.fromisoformat(task["due_on"]).year
    assert year > 2026 and task["provisional"] is True  # the pinned chinese-calendar ends with 2026
    # What the appellant was told: the same count from the filing day (the task opened that day).
    assert date.fromisoformat(filed["review_due_on"]).year == year and filed["review_due_provisional"] is True
    before = await api.get(f"/v1/calendar/{year}")
    assert before.status_code == 200 and before.json()["status"] in ("provisional", "official")
    already_installed = before.json()["status"] == "official"  # a stack reused by an earlier run

    refused = await api.put(f"/v1/calendar/{year}", json=arrangement(year), headers=REVIEWER)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    malformed = await api.put(f"/v1/calendar/{year}", json={**arrangement(year), "holidays": "soon"}, headers=ADMIN)
    assert malformed.status_code == 422 and ["body", "holidays"] in [e["loc"] for e in malformed.json()["errors"]]
    missing = {**arrangement(year), "holidays": arrangement(year)["holidays"][1:]}  # without 元旦
    unlawful = await api.put(f"/v1/calendar/{year}", json=missing, headers=ADMIN)
    assert unlawful.status_code == 422 and unlawful.json()["code"] == "invalid_arrangement"
    assert ["body", "holidays"] in [e["loc"] for e in unlawful.json()["errors"]]
    assert (await api.get(f"/v1/calendar/{year}")).json()["status"] == before.json()["status"]

    installed = await api.put(f"/v1/calendar/{year}", json=arrangement(year), headers=ADMIN)
    assert installed.status_code == 200, installed.text
    assert installed.json()["installed_by"] == "admin-1"
    after = (await api.get(f"/v1/calendar/{year}")).json()
    assert after["status"] == "official" and after["version"] == installed.json()["version"]
    await collect(
        stack.bootstrap,
        CALENDAR,
        lambda kept: len(kept) >= 1,
        match=lambda e: e["type"] == CALENDAR_INSTALLED and e["id"] == f"calendar:{year}:v{after['version']}",
        timeout=60,
    )

    # The open task is counted again on the official year: no longer provisional, never earlier.
    async def current() -> dict:
        r = await api.get(f"/v1/tasks/{task['id']}", headers=REVIEWER)
        assert r.status_code == 200, r.text
        return r.json()

    replanned = await eventually(current, until=lambda t: t["provisional"] is False, timeout=60)
    assert replanned["due_on"] >= task["due_on"]
    assert not any(a["provisional"] for a in replanned["alarms"] if a["at"][:4] == str(year))
    if not already_installed:
        (entry,) = [a for a in replanned["audit"] if a["action"] == "replanned"]
        assert f"holiday arrangement of {year} installed" in entry["details"]["reason"]

    # The appeal's own date follows (services/appeal/replanner.py), never earlier, and the review
    # workflow announces it as a new version of the appeal (appeal.changed.v1, the same view).
    async def appeal() -> dict:
        r = await api.get(f"/v1/appeals/{filed['appeal_id']}", headers=appellant)
        assert r.status_code == 200, r.text
        return r.json()

    told = await eventually(
        appeal, until=lambda a: a["review_due_provisional"] is False and a["version"] > 2, timeout=60
    )
    assert told["review_due_on"] >= filed["review_due_on"] and told["state"] == "under_review"
    assert told["note"].startswith(f"review due date re-planned to {told['review_due_on']}: ")
    assert f"holiday arrangement of {year} installed" in told["note"]
