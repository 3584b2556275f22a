"""The watch (issue 13) on the real stack — Tansu, PostgreSQL, the Temporal dev server, every
service: procurement events on credit.inbound.procurement become timelines, clocks, warnings on
credit.warnings and deadline_overdue tasks in casework; bad events are dead-lettered; a deadline
layer looser than the law stops the service at start."""

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.common.lawdates import SHANGHAI, today
from services.common.topics import DEAD_LETTER, INBOUND_BEHAVIOUR, INBOUND_PROCUREMENT, WARNINGS
from services.common.workdays import RECKONER
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import determination, event, new_uscc, report_data
from tests.support.kafka import collect, original_id, produce
from tests.support.poll import eventually
from tests.support.procurement import XU_PURCHASER, procurement_event
from workflows.deadline_clock.inputs import clock_workflow_id

pytestmark = pytest.mark.connected

ROOT = Path(__file__).resolve().parents[2]
XUCHANG_OFFICER = bearer("finance_officer", "411000", "411000", sub="xuchang-officer")
ADMIN = bearer("administrator", "410000", "410000", sub="admin-1")


def code() -> str:
    return f"XC-{uuid.uuid4().hex[:8]}"


async def send(stack: Stack, *events: dict) -> None:
    await produce(stack.bootstrap, INBOUND_PROCUREMENT, list(events), key_of=lambda e: e["data"]["project"]["code"])


async def timeline(api: httpx.AsyncClient, project: str, *, until) -> dict:  # type: ignore[no-untyped-def]
    r = await eventually(
        lambda: api.get(f"/v1/projects/411000/{project}", headers=XUCHANG_OFFICER),
        until=lambda r: r.status_code == 200 and until(r.json()),
    )
    return r.json()


def stage(body: dict, name: str) -> dict:
    (found,) = [s for s in body["stages"] if s["stage"] == name]
    return found


async def test_an_award_five_working_days_old_is_overdue_with_a_task_within_seconds(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    project = code()
    awarded = RECKONER.previous_working_day(today(), 5).day
    at = datetime.combine(awarded, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=10)
    started = time.monotonic()
    await send(stack, procurement_event("award.notified", code=project, at=at))

    def ours(e: dict) -> bool:
        return e.get("data", {}).get("project", {}).get("code") == project

    warnings = await collect(
        stack.bootstrap,
        WARNINGS,
        lambda kept: {"overdue", "escalated"} <= {w["data"]["level"] for w in kept},
        match=ours,
    )
    tasks = await eventually(
        lambda: api.get("/v1/tasks", params={"kind": "deadline_overdue", "limit": 500}, headers=XUCHANG_OFFICER),
        until=lambda r: r.status_code == 200 and any(project in t["title"] for t in r.json()["items"]),
    )
    elapsed = time.monotonic() - started
    levels = {w["data"]["level"]: w["data"] for w in warnings}
    assert levels["overdue"]["stage"] == "contract_signing" and levels["overdue"]["region"] == "411000"
    assert levels["overdue"]["responsible"]["type"] == "purchaser"
    (task,) = [t for t in tasks.json()["items"] if project in t["title"]]
    assert levels["escalated"]["task_id"] == task["id"]
    assert elapsed < 30, f"overdue warning and task took {elapsed:.1f} s"
    body = await timeline(api, project, until=lambda b: stage(b, "contract_signing")["level"] == "escalated")
    signing = stage(body, "contract_signing")
    assert (signing["state"], signing["late"], signing["task_id"]) == ("overdue", True, task["id"])
    assert "004 第18项" in signing["basis"]
    listed = await api.get("/v1/warnings", params={"level": "overdue"}, headers=XUCHANG_OFFICER)
    assert listed.status_code == 200 and any(w["project"]["code"] == project for w in listed.json()["items"])


async def test_a_contract_in_time_closes_the_clock_and_reverse_order_reaches_the_same_state(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    in_order, reverse = code(), code()
    for project, order in (
        (in_order, ("award.notified", "contract.signed")),
        (reverse, ("contract.signed", "award.notified")),
    ):
        events = {
            "award.notified": procurement_event("award.notified", code=project, at=now - timedelta(hours=2)),
            "contract.signed": procurement_event(
                "contract.signed", code=project, at=now - timedelta(hours=1), contract_no=f"{project}-C1"
            ),
        }
        for kind in order:
            await send(stack, events[kind])
    states = []
    for project in (in_order, reverse):
        body = await timeline(
            api, project, until=lambda b: len(b["stages"]) == 3 and stage(b, "contract_signing")["state"] == "done"
        )
        states.append(
            sorted((s["stage"], s["due_on"], s["state"], s["late"], s["done_at"] is not None) for s in body["stages"])
        )
        assert stage(body, "contract_signing")["late"] is False
    assert states[0] == states[1]
    listed = await api.get("/v1/warnings", params={"level": "overdue"}, headers=XUCHANG_OFFICER)
    assert not any(w["project"]["code"] in (in_order, reverse) for w in listed.json()["items"])


async def test_the_same_event_twice_gives_one_clock(stack: Stack, api: httpx.AsyncClient) -> None:
    project = code()
    award = procurement_event("award.notified", code=project, at=datetime.now(UTC) - timedelta(minutes=5))
    await send(stack, award, award)
    await send(stack, award)
    body = await timeline(api, project, until=lambda b: len(b["stages"]) == 1)
    # Later deliveries have been read too once a marker event of the same project is in.
    marker = procurement_event("contract.published", code=project, at=datetime.now(UTC), contract_no="none")
    await send(stack, marker)
    body = await timeline(api, project, until=lambda b: len(b["facts"]) == 2)
    assert len(body["stages"]) == 1 and [f["type"] for f in body["facts"]].count("award.notified") == 1


async def test_a_contract_with_a_blacklisted_supplier_raises_an_interception_and_a_task(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    supplier = new_uscc()
    data = report_data(subject_id=supplier, code="SUP-S-01", reporter_type="finance", determination=determination())
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [event(data)])
    await eventually(
        lambda: api.get(f"/v1/credit/supplier/{supplier}"),
        until=lambda r: r.status_code == 200 and r.json()["may_participate"] is False,
    )
    project = code()
    signed = procurement_event(
        "contract.signed", code=project, at=datetime.now(UTC), contract_no=f"{project}-C1", supplier=supplier
    )
    await send(stack, signed)
    (raised,) = await collect(
        stack.bootstrap,
        WARNINGS,
        lambda kept: bool(kept),
        match=lambda e: e["type"].endswith("interception.raised.v1") and e["data"]["project"]["code"] == project,
    )
    assert (raised["data"]["rule"], raised["data"]["subject"]["id"]) == ("supplier_barred", supplier)
    tasks = await eventually(
        lambda: api.get("/v1/tasks", params={"kind": "interception", "limit": 500}, headers=XUCHANG_OFFICER),
        until=lambda r: r.status_code == 200 and any(t["id"] == raised["data"]["task_id"] for t in r.json()["items"]),
    )
    (task,) = [t for t in tasks.json()["items"] if t["id"] == raised["data"]["task_id"]]
    assert task["subject"]["id"] == supplier


async def test_a_region_without_a_policy_is_dead_lettered_no_policy(stack: Stack) -> None:
    event = procurement_event("award.notified", code=code(), at=datetime.now(UTC), region="110000")
    await send(stack, event)
    dead = await collect(
        stack.bootstrap,
        DEAD_LETTER,
        lambda kept: bool(kept),
        match=lambda e: original_id(e) == event["id"],
    )
    assert dead[0]["data"]["reason"] == "no_policy" and "110000" in dead[0]["data"]["message"]


def test_a_deadline_layer_looser_than_the_law_is_refused_at_start(stack: Stack) -> None:
    env = {
        **stack.env(),
        "CREDIT_WATCH_POLICY_DIR": str(ROOT / "tests" / "fixtures" / "watch_looser"),
        "SERVICE_PORT": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.watch"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "PolicyConflict" in done.stderr and "test layer 第1项" in done.stderr and "第四十七条" in done.stderr
    assert os.environ.get("CREDIT_WATCH_POLICY_DIR") is None  # the stack's own watch is unaffected


async def test_a_timeline_is_shown_to_its_parties_and_finance_of_its_region_only(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    project = code()
    await send(stack, procurement_event("award.notified", code=project, at=datetime.now(UTC)))
    await timeline(api, project, until=lambda b: len(b["facts"]) == 1)
    path = f"/v1/projects/411000/{project}"
    own = await api.get(path, headers=bearer("purchaser", XU_PURCHASER, "411000"))
    assert own.status_code == 200 and own.json()["code"] == project
    other = await api.get(path, headers=bearer("purchaser", new_uscc(), "411000"))
    assert other.status_code == 404  # its existence is not disclosed
    assert (await api.get(path, headers=bearer("finance_officer", "410300", "410300"))).status_code == 403
    assert (await api.get(path)).status_code == 401
    mine = await api.get("/v1/warnings", headers=bearer("agency", new_uscc(), "411000"))
    assert mine.status_code == 200 and mine.json()["items"] == []


async def test_the_gateway_documents_the_watch_endpoints(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert {"/v1/projects/{region}/{code}", "/v1/warnings", "/v1/rankings"} <= set(paths)


async def test_a_running_clock_is_replanned_when_its_year_is_installed(stack: Stack, api: httpx.AsyncClient) -> None:
    """An award on the last day of this year counts its 2 working days through next year. An
    administrator installs next year's arrangement (casework, `credit.calendar`) with the clock's due
    day off as well: the watch counts the clock again — a later due date, not provisional — and its
    workflow gets the `replan`. The days held before are installed again at the end (moving the clock
    back). The arrangements are TEST FIXTURES, NOT OFFICIAL DATA."""
    year = today().year + 1
    project = code()
    eve = datetime.combine(date(year - 1, 12, 31), datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=10)
    await send(stack, procurement_event("award.notified", code=project, at=eve))
    signing = stage(await timeline(api, project, until=lambda b: len(b["stages"]) == 1), "contract_signing")
    due = date.fromisoformat(signing["due_on"])
    assert due.year == year

    held = (await api.get(f"/v1/calendar/{year}")).json()  # installed by an earlier test, or the law's days

    def arrangement(extra_off: set[date]) -> dict:
        return {
            "notice": {"number": "TEST FIXTURE, NOT OFFICIAL DATA", "date": today().isoformat()},
            "holidays": sorted(set(held["holidays"]) | {d.isoformat() for d in extra_off}),
            "workdays": held["workdays"],
        }

    installed = await api.put(f"/v1/calendar/{year}", json=arrangement({due}), headers=ADMIN)
    assert installed.status_code == 200, installed.text
    moved = stage(
        await timeline(api, project, until=lambda b: stage(b, "contract_signing")["due_on"] != signing["due_on"]),
        "contract_signing",
    )
    assert date.fromisoformat(moved["due_on"]) > due and moved["provisional"] is False
    client = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    handle = client.get_workflow_handle(clock_workflow_id(f"411000:{project}:contract_signing:"))

    async def replans() -> list[str]:
        history = await handle.fetch_history()
        return [
            e.workflow_execution_signaled_event_attributes.signal_name
            for e in history.events
            if e.HasField("workflow_execution_signaled_event_attributes")
            and e.workflow_execution_signaled_event_attributes.signal_name == "replan"
        ]

    assert len(await eventually(replans, until=lambda names: len(names) == 1, timeout=60)) == 1

    restored = await api.put(f"/v1/calendar/{year}", json=arrangement(set()), headers=ADMIN)
    assert restored.status_code == 200, restored.text
    back = stage(
        await timeline(api, project, until=lambda b: stage(b, "contract_signing")["due_on"] == signing["due_on"]),
        "contract_signing",
    )
    assert back["provisional"] is False
    assert len(await eventually(replans, until=lambda names: len(names) == 2, timeout=60)) == 2
