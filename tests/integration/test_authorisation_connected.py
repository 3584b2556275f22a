"""The authorisation matrix of CONTRACT §2, through the gateway: deny unless a role allows."""

import httpx
import pytest

from tests.conftest import bearer
from tests.support.factories import AGENCY_ID, PURCHASER_ID, determination, new_uscc, report_data
from tests.support.poll import eventually

pytestmark = pytest.mark.connected

CITY = bearer("finance_officer", "410300", "410300")
COUNTY = bearer("finance_officer", "410322", "410322")
OTHER_COUNTY = bearer("finance_officer", "410323", "410323")
OTHER_CITY = bearer("finance_officer", "410100", "410100")
SUPERVISOR = bearer("supervisor", "410300", "410300")


@pytest.fixture(scope="module")
async def county_record(api: httpx.AsyncClient) -> dict:
    """A general record of a supplier in county 410322, reported by a purchaser."""
    data = report_data(region="410322")
    r = await api.post("/v1/reports", json=data, headers=bearer("purchaser", PURCHASER_ID, "410322"))
    assert r.status_code == 201, r.text
    return {"id": r.json()["record_id"], "supplier": data["subject"]["id"]}


@pytest.mark.parametrize(
    ("path", "status"),
    [("/v1/catalogue", 200), ("/v1/blacklist", 200), ("/v1/credit/supplier/91350100M000100Y43", 200)],
)
async def test_public_endpoints_need_no_token(api: httpx.AsyncClient, path: str, status: int) -> None:
    assert (await api.get(path)).status_code == status


async def test_catalogue_lists_all_103_behaviours_with_legal_basis(api: httpx.AsyncClient) -> None:
    body = (await api.get("/v1/catalogue")).json()
    assert body["count"] == 103
    s01 = next(b for b in body["behaviours"] if b["code"] == "SUP-S-01")
    assert s01["severity"] == "serious" and s01["legal_basis"].startswith("《洛阳市政府采购信用评价暂行办法》第八条")
    assert s01["statute"] == "《中华人民共和国政府采购法》第七十七条" and s01["references"] == []
    g01 = next(b for b in body["behaviours"] if b["code"] == "SUP-G-01")
    assert "江苏" not in g01["legal_basis"] and g01["references"][0] == "《江苏省政府采购信用管理暂行办法》"


async def test_reports_need_a_reporting_role(api: httpx.AsyncClient) -> None:
    data = report_data()
    assert (await api.post("/v1/reports", json=data)).status_code == 401
    subject = bearer("subject", data["subject"]["id"], "410322")
    r = await api.post("/v1/reports", json=data, headers=subject)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")


async def test_reporter_must_be_the_caller(api: httpx.AsyncClient) -> None:
    data = report_data()  # reported as PURCHASER_ID
    r = await api.post("/v1/reports", json=data, headers=bearer("purchaser", new_uscc(), "410322"))
    assert r.status_code == 403 and r.json()["code"] == "reporter_mismatch"
    r = await api.post("/v1/reports", json=data, headers=bearer("agency", AGENCY_ID, "410322"))
    assert r.status_code == 403


async def test_serious_records_only_by_the_finance_department_in_charge(api: httpx.AsyncClient) -> None:
    by_purchaser = report_data(code="SUP-S-03", determination=determination())
    r = await api.post("/v1/reports", json=by_purchaser, headers=bearer("purchaser", PURCHASER_ID, "410322"))
    assert r.status_code == 403 and r.json()["code"] == "not_authorised"
    by_other_city = report_data(
        code="SUP-S-03", reporter_type="finance", reporter_id="410100", determination=determination()
    )
    r = await api.post("/v1/reports", json=by_other_city, headers=OTHER_CITY)
    assert r.status_code == 403 and r.json()["code"] == "not_authorised"
    by_city = report_data(code="SUP-S-03", reporter_type="finance", determination=determination())
    r = await api.post("/v1/reports", json=by_city, headers=CITY)
    assert r.status_code == 201 and r.json()["record"]["severity"] == "serious"
    task = await api.post(
        "/v1/reports", json=report_data(code="SUP-S-03"), headers=bearer("purchaser", PURCHASER_ID, "410322")
    )
    assert task.status_code == 202 and task.json()["outcome"] == "determination_opened"


async def test_rejections_over_http_are_problems_with_the_reason(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/v1/reports", json=report_data(with_evidence=False), headers=bearer("purchaser", PURCHASER_ID, "410322")
    )
    assert r.status_code == 422
    assert r.json()["code"] == "evidence_required" and r.json()["type"].endswith("/evidence_required")


async def test_record_visible_to_finance_above_and_the_subject_only(
    api: httpx.AsyncClient, county_record: dict
) -> None:
    path = f"/v1/records/{county_record['id']}"
    assert (await api.get(path)).status_code == 401
    for allowed in (CITY, COUNTY, SUPERVISOR, bearer("subject", county_record["supplier"], "410322")):
        assert (await api.get(path, headers=allowed)).status_code == 200
    for denied in (
        OTHER_COUNTY,
        OTHER_CITY,
        bearer("subject", new_uscc(), "410322"),
        bearer("purchaser", PURCHASER_ID, "410322"),
    ):
        assert (await api.get(path, headers=denied)).status_code == 404


async def test_record_list_for_finance_of_the_region_and_the_subject(
    api: httpx.AsyncClient, county_record: dict
) -> None:
    params = {"subject_type": "supplier", "subject_id": county_record["supplier"]}
    assert (await api.get("/v1/records", params=params)).status_code == 401
    assert (
        await api.get("/v1/records", params=params, headers=bearer("subject", new_uscc(), "410322"))
    ).status_code == 403
    assert (
        await api.get("/v1/records", params=params, headers=bearer("purchaser", PURCHASER_ID, "410322"))
    ).status_code == 403
    city = (await api.get("/v1/records", params=params, headers=CITY)).json()
    assert [r["record_id"] for r in city["records"]] == [county_record["id"]]
    assert city["records"][0]["evidence_access"] == "approval_required"
    other = (await api.get("/v1/records", params=params, headers=OTHER_CITY)).json()
    assert other["records"] == []
    own = (
        await api.get("/v1/records", params=params, headers=bearer("subject", county_record["supplier"], "410322"))
    ).json()
    assert own["count"] == 1 and "evidence" not in own["records"][0]


async def test_invalid_token_is_401_problem(api: httpx.AsyncClient) -> None:
    r = await api.get("/v1/records/x", headers={"Authorization": "Bearer not-a-jwt"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")


async def test_public_status_masks_experts(api: httpx.AsyncClient) -> None:
    expert = "EXP-410300-0042"
    data = report_data(
        subject_type="expert", subject_id=expert, code="EXP-G-01", subject_name="张三丰", reporter_type="agency"
    )
    assert (await api.post("/v1/reports", json=data, headers=bearer("agency", AGENCY_ID, "410322"))).status_code == 201
    body = await eventually(
        lambda: _credit(api, f"/v1/credit/expert/{expert}"),
        until=lambda b: b["records_in_force"] and b["status_version"] >= 1,
    )
    assert body["subject"]["name"] == "张**" and "张三丰" not in str(body)
    assert body["expert"]["may_be_drawn"] is False


async def _credit(api: httpx.AsyncClient, path: str) -> dict:
    return (await api.get(path)).json()


async def test_credit_status_refuses_an_invalid_identifier(api: httpx.AsyncClient) -> None:
    r = await api.get("/v1/credit/supplier/91350100M000100Y44")  # wrong check character
    assert r.status_code == 422 and r.json()["code"] == "invalid_identifier"
    assert r.headers["content-type"].startswith("application/problem+json")
    unknown = await api.get("/v1/credit/supplier/91350100M000100Y43")
    assert unknown.status_code == 200 and unknown.json()["status"] == "no_record" and unknown.json()["as_of"]
