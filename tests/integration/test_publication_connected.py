"""Publication on the real stack: a serious record is published at once (a blacklist notice) and
pushed to both national platforms, and its expiry takes it down — each publication and withdrawal
arrives exactly once although the platforms refuse the first attempts; the blacklist and the credit
endpoint agree after every change; the region's Temporal Schedule publishes last month's notice of
general records (triggered here: the dev server cannot wait for the 1st of the month)."""

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.common.cloudevents import encode_structured, parse_kafka_message
from services.common.db import make_engine
from services.common.inbound import Inbound
from services.common.lawdates import SHANGHAI, local_date, today
from services.common.policy import policy_for
from services.common.topics import NOTICES
from services.evaluation.intake.ingest import ingest
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import determination, event, new_uscc, report_data
from tests.support.kafka import collect
from tests.support.platforms import serving
from tests.support.poll import eventually
from workflows.notices.workflow import notice_schedule_id, previous_period

pytestmark = pytest.mark.connected
FINANCE = bearer("finance_officer", "410300", "410300")
REFUSED_ATTEMPTS = 2


class PlatformServer:
    """Stands in for a national platform: refuses each key's first attempts with 503."""

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.bodies: dict[str, dict] = {}
        self.app = FastAPI()

        @self.app.post("/push")
        async def push(request: Request) -> Response:
            key = request.headers["idempotency-key"]
            self.attempts[key] += 1
            if self.attempts[key] <= REFUSED_ATTEMPTS:
                return Response(status_code=503)
            self.accepted[key] += 1
            self.bodies[key] = await request.json()
            return Response(status_code=202)


@pytest.fixture
async def platforms(stack: Stack) -> AsyncIterator[dict[str, PlatformServer]]:
    servers = {"procurement": PlatformServer(), "credit": PlatformServer(), "public_credit": PlatformServer()}
    async with serving(stack, {name: server.app for name, server in servers.items()}):
        yield servers


async def delivered_once(servers: dict[str, PlatformServer], key_of) -> None:  # type: ignore[no-untyped-def]
    """Each platform accepted its push exactly once, after refusing the first attempts."""
    for name, server in servers.items():
        key = key_of(name)
        await eventually(lambda s=server, k=key: _count(s, k), until=lambda n: n >= 1, timeout=60)
        assert server.accepted[key] == 1 and server.attempts[key] == REFUSED_ATTEMPTS + 1, (name, key)


async def _count(server: PlatformServer, key: str) -> int:
    return server.accepted[key]


async def in_blacklist(api: httpx.AsyncClient, record_id: str) -> bool:
    offset = 0
    while True:
        page = (await api.get("/v1/blacklist", params={"region": "410300", "limit": 500, "offset": offset})).json()
        if any(e["record_id"] == record_id for e in page["entries"]):
            return True
        offset += 500
        if offset >= page["total"]:
            return False


async def public_view(api: httpx.AsyncClient, supplier: str, record_id: str) -> tuple[bool, bool, bool, bool]:
    """(on the blacklist, credit says blacklisted, record in force in the credit answer, good credit)."""
    # The fast path reads ?region= (issue 16 point 7): the project's region's policy is applied.
    credit = (await api.get(f"/v1/credit/supplier/{supplier}", params={"region": "410322"})).json()
    assert credit["good_credit"]["policy_region"] == "410322"
    return (
        await in_blacklist(api, record_id),
        credit["blacklisted"],
        record_id in {r["record_id"] for r in credit["records_in_force"]},
        credit["good_credit"]["eligible"],
    )


async def push_states(api: httpx.AsyncClient, **query: str) -> list[tuple[str, str, str, int]]:
    r = await api.get("/v1/pushes", params=query, headers=FINANCE)
    assert r.status_code == 200, r.text
    return sorted((p["platform"], p["action"], p["state"], p["attempts"]) for p in r.json()["pushes"])


async def ingest_at(stack: Stack, data: dict, moment: datetime) -> str:
    """Record as the intake would have at `moment` (the dev server cannot wait months)."""
    value, headers = encode_structured(event(data))
    engine = make_engine(stack.database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as conn:
            (outcome,) = await ingest(
                conn, [Inbound(original={}, key=None, envelope=parse_kafka_message(value, headers))], now=moment
            )
    finally:
        await engine.dispose()
    assert outcome.kind == "recorded", outcome
    return outcome.record_id


async def test_serious_record_is_pushed_once_to_each_platform_and_its_withdrawal_too(
    stack: Stack, api: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    supplier = new_uscc()
    data = report_data(subject_id=supplier, code="SUP-S-04", reporter_type="finance", determination=determination())
    r = await api.post("/v1/reports", json=data, headers=FINANCE)
    assert r.status_code == 201, r.text
    record_id = r.json()["record_id"]
    view = await eventually(lambda: public_view(api, supplier, record_id), until=lambda v: v[1], timeout=60)
    assert view == (True, True, True, False)

    await delivered_once(platforms, lambda p: f"{p}:{record_id}:v1")
    body = platforms["procurement"].bodies[f"procurement:{record_id}:v1"]
    assert body["action"] == "publish" and body["notice"]["kind"] == "blacklist"
    assert body["notice"]["entries"][0]["record_id"] == record_id and "evidence" not in str(body)
    states = await eventually(
        lambda: push_states(api, record_id=record_id), until=lambda s: all(x[2] == "delivered" for x in s) and s
    )
    assert states == [
        ("credit", "publish", "delivered", 3),
        ("procurement", "publish", "delivered", 3),
        ("public_credit", "publish", "delivered", 3),  # 同级公共信用信息系统 (issue 16 point 12)
    ]
    notices = (await api.get("/v1/notices", params={"kind": "blacklist", "region": "410322", "limit": 100})).json()
    assert f"blacklist-{record_id}-v1" in {n["notice_id"] for n in notices["notices"]}
    other = await api.get(
        "/v1/pushes", params={"record_id": record_id}, headers=bearer("finance_officer", "410100", "410100")
    )
    assert other.status_code == 404


async def test_expiry_is_pushed_as_a_withdrawal_and_the_blacklist_follows(
    stack: Stack, api: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    supplier = new_uscc()
    # Recorded 400 days ago with a liability that ended two days ago: the sweep expires it now.
    recorded = datetime.now(UTC) - timedelta(days=400)
    day = local_date(recorded)
    data = report_data(
        subject_id=supplier,
        code="SUP-S-04",
        reporter_type="finance",
        occurred_on=day - timedelta(days=10),
        determination={
            "decision_no": "洛财购处〔2025〕9号",
            "decided_on": (day - timedelta(days=1)).isoformat(),
            "liability_ends_on": (today() - timedelta(days=2)).isoformat(),
            "penalty": "一年内禁止参加政府采购活动",
        },
    )
    record_id = await ingest_at(stack, data, recorded)
    await delivered_once(platforms, lambda p: f"{p}:{record_id}:v1")
    await delivered_once(platforms, lambda p: f"{p}:{record_id}:v2")
    withdrawal = platforms["credit"].bodies[f"credit:{record_id}:v2"]
    assert withdrawal["action"] == "withdraw" and withdrawal["notice"]["withdrawals"][0]["status"] == "expired"
    view = await eventually(lambda: public_view(api, supplier, record_id), until=lambda v: not v[1], timeout=60)
    # Off the blacklist and out of the answer; good credit again: an ended record no longer counts
    # (issue 16 point 6, Luoyang names no look-back).
    assert view == (False, False, False, True)
    states = await eventually(
        lambda: push_states(api, record_id=record_id),
        until=lambda s: len(s) == 6 and all(x[2] == "delivered" for x in s),
    )
    assert [(p, a) for p, a, _, _ in states] == [
        ("credit", "publish"),
        ("credit", "withdraw"),
        ("procurement", "publish"),
        ("procurement", "withdraw"),
        ("public_credit", "publish"),
        ("public_credit", "withdraw"),
    ]


async def test_the_schedule_publishes_last_months_general_records(
    stack: Stack, api: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    cadence = policy_for("410300", today()).notice_cadence
    start, end = previous_period(today(), cadence)  # type: ignore[arg-type]
    moment = datetime.combine(start + timedelta(days=9), time(10), SHANGHAI).astimezone(UTC)
    supplier = new_uscc()
    data = report_data(subject_id=supplier, occurred_on=start + timedelta(days=5))
    record_id = await ingest_at(stack, data, moment)

    async def in_force() -> list:
        return (await api.get(f"/v1/credit/supplier/{supplier}")).json()["records_in_force"]

    await eventually(in_force, until=lambda rs: len(rs) == 1, timeout=60)

    client = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    schedule = client.get_schedule_handle(notice_schedule_id("410300"))
    described = await schedule.describe()
    rules = policy_for("410300", today()).publication
    (calendar,) = described.schedule.spec.calendars
    assert [r.start for r in calendar.hour] == [rules.notice_hour]
    assert [r.start for r in calendar.day_of_month] == [rules.notice_day_of_month]
    assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
    await schedule.trigger()

    notice_id = f"period-410300-{start.isoformat()}"

    async def period_notice() -> dict | None:
        body = (await api.get("/v1/notices", params={"kind": "period", "region": "410300", "limit": 100})).json()
        return next((n for n in body["notices"] if n["notice_id"] == notice_id), None)

    notice = await eventually(period_notice, until=lambda n: n is not None, timeout=60)
    assert notice["period"] == {"start": start.isoformat(), "end": end.isoformat(), "cadence": cadence}
    assert record_id in {e["record_id"] for e in notice["entries"]}
    assert all(start.isoformat() <= e["recorded_on"] <= end.isoformat() for e in notice["entries"])
    # General records are notified on the city site only (issue 16 point 12): no platform got it.
    assert all(not any(notice_id in k for k in s.attempts) for s in platforms.values())
    published = await collect(
        stack.bootstrap, NOTICES, lambda kept: len(kept) >= 1, match=lambda e: e["id"] == notice_id, timeout=60
    )
    assert record_id in {e["record_id"] for e in published[0]["data"]["entries"]}
