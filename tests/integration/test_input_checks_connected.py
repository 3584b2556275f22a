"""Input checks of issue 21 (point 11) through the gateway and the broker: a century-long token is
401, a behaviour dated 1900 or written `20261128` is refused, an event dated 2030 is dead-lettered
`invalid_time`, and a USCC in lower case or full width is recorded and answered as the code it is."""

from datetime import UTC, datetime

import httpx
import pytest

from services.common.auth import mint_token
from services.common.settings import DEV_JWT_SECRET
from services.common.topics import DEAD_LETTER, EVENT_REJECTED, INBOUND_BEHAVIOUR
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, event, new_uscc, report_data
from tests.support.kafka import collect, produce

pytestmark = pytest.mark.connected
PURCHASER = bearer("purchaser", PURCHASER_ID, "410322")


async def test_a_token_valid_for_a_century_is_401(api: httpx.AsyncClient) -> None:
    century = mint_token(
        sub="s", role="finance_officer", org="410300", region="410300", secret=DEV_JWT_SECRET, ttl_seconds=3_153_600_000
    )
    r = await api.get("/v1/tasks", headers={"Authorization": f"Bearer {century}"})
    assert (r.status_code, r.json()["code"]) == (401, "invalid_token")


async def test_dates_are_checked(api: httpx.AsyncClient) -> None:
    r = await api.post("/v1/reports", json=report_data(occurred_on=datetime(1900, 1, 1).date()), headers=PURCHASER)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_date")
    r = await api.post("/v1/reports", json=report_data() | {"occurred_on": "20261128"}, headers=PURCHASER)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_request")


async def test_an_event_dated_2030_is_dead_lettered(stack: Stack) -> None:
    e = event(report_data()) | {"time": datetime(2030, 1, 1, tzinfo=UTC).isoformat()}
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [e])

    def original_id(d: dict) -> str | None:
        value = d["data"]["original"].get("value")
        return value.get("id") if isinstance(value, dict) else None

    (dead,) = await collect(
        stack.bootstrap,
        DEAD_LETTER,
        lambda kept: len(kept) >= 1,
        match=lambda d: d["type"] == EVENT_REJECTED and original_id(d) == e["id"],
        timeout=60,
    )
    assert dead["data"]["reason"] == "invalid_time"


async def test_lower_case_and_full_width_usccs_are_normalised(api: httpx.AsyncClient) -> None:
    code = new_uscc()
    full_width = code.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    r = await api.post("/v1/reports", json=report_data(subject_id=full_width), headers=PURCHASER)
    assert r.status_code == 201, r.text
    assert r.json()["record"]["subject"]["id"] == code
    r = await api.get(f"/v1/credit/supplier/{code.lower()}")
    assert r.status_code == 200, r.text
    assert r.json()["subject"]["id"] == code
