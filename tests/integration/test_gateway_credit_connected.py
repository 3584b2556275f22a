"""Issue 19: the gateway answers `GET /v1/credit/{type}/{id}` from publication's read model itself
(role credit_gateway), with the same answers and problems as publication; other reads are proxied."""

import httpx
import pytest

from services.common.topics import INBOUND_BEHAVIOUR
from tests.stack import Stack
from tests.support.factories import event, new_uscc, report_data
from tests.support.kafka import produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected


async def both(stack: Stack, path: str, **headers: str) -> tuple[httpx.Response, httpx.Response]:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        via_gateway = await http.get(stack.api + path, headers=headers)
        at_publication = await http.get(stack.url("publication") + path, headers=headers)
    return via_gateway, at_publication


async def test_gateway_answers_credit_status_as_publication_does(stack: Stack) -> None:
    supplier = new_uscc()
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [event(report_data(subject_id=supplier, code="SUP-G-03"))])

    async def answer() -> httpx.Response:
        gateway, _ = await both(stack, f"/v1/credit/supplier/{supplier}")
        return gateway

    await eventually(answer, until=lambda r: r.status_code == 200 and bool(r.json()["records_in_force"]), timeout=60)
    paths = [
        f"/v1/credit/supplier/{supplier}",
        f"/v1/credit/supplier/{supplier}?region=410300",
        f"/v1/credit/supplier/{new_uscc()}",  # never heard of: no_record
        "/v1/credit/supplier/not-a-uscc",  # 422 invalid_identifier
        f"/v1/credit/supplier/{supplier}?region=41",  # 422: not a division code
    ]
    for path in paths:
        for headers in ({}, {"accept-language": "zh-CN"}):
            gateway, publication = await both(stack, path, **headers)
            assert (gateway.status_code, gateway.json()) == (publication.status_code, publication.json()), path
            assert gateway.headers["content-type"] == publication.headers["content-type"], path
            # Answered by the gateway itself: publication's uvicorn would have added its Server header.
            assert "server" not in gateway.headers and "server" in publication.headers, path


async def test_other_credit_reads_are_still_proxied(stack: Stack) -> None:
    gateway, publication = await both(stack, f"/v1/credit/consortium?members={new_uscc()},{new_uscc()}")
    assert gateway.status_code == publication.status_code == 200
    assert gateway.headers.get("server") == publication.headers.get("server") == "uvicorn"
