"""RFC 9457 problem+json for every error (CONTRACT §2)."""

from datetime import date

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.common.policy import policy_for
from services.common.problems import PROBLEM_MEDIA_TYPE, Problem, install_problem_handlers, problem_response


class Body(BaseModel):
    name: str
    amount: int


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/problem")
    async def raise_problem() -> None:
        raise Problem(409, "duplicate_report", "Duplicate report", "Already reported.", record_id="r-1")

    @app.post("/items")
    async def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/http/{status}")
    async def raise_http(status: int) -> None:
        raise HTTPException(status, detail="custom detail")

    @app.get("/policy/{region}")
    async def rules_of(region: str) -> dict:
        return {"version": policy_for(region, date(2026, 12, 7)).version}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret database password in message")

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    # Starlette re-raises unhandled errors after answering; keep them out of the test.
    return TestClient(make_app(), raise_server_exceptions=False)


def test_problem_attributes() -> None:
    p = Problem(404, "record_not_found", "Record not found", "No record r-9.", record_id="r-9")
    assert p.type == "https://credit.procurement.gov.cn/problems/record_not_found"
    assert p.status == 404 and p.code == "record_not_found"
    assert p.to_dict() == {
        "type": "https://credit.procurement.gov.cn/problems/record_not_found",
        "title": "Record not found",
        "status": 404,
        "detail": "No record r-9.",
        "code": "record_not_found",
        "record_id": "r-9",
    }


def test_problem_extras_cannot_redefine_members() -> None:
    with pytest.raises(ValueError):
        Problem(400, "x", "X", type="about:blank")


def test_problem_response() -> None:
    response = problem_response(Problem(400, "invalid_identifier", "Invalid identifier"))
    assert response.status_code == 400
    assert response.media_type == PROBLEM_MEDIA_TYPE
    assert b'"detail"' not in response.body  # absent, not null, when there is none


def test_401_challenges_for_bearer() -> None:
    response = problem_response(Problem(401, "unauthenticated", "Authentication required"))
    assert response.headers["www-authenticate"] == "Bearer"


def test_problem_handler(client: TestClient) -> None:
    r = client.get("/problem")
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = r.json()
    assert body["type"] == "https://credit.procurement.gov.cn/problems/duplicate_report"
    assert body["record_id"] == "r-1"
    assert body["instance"] == "/problem"


def test_validation_error(client: TestClient) -> None:
    r = client.post("/items", json={"name": "x", "amount": "not a number"})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = r.json()
    assert body["code"] == "invalid_request"
    assert body["type"].endswith("/invalid_request")
    assert body["errors"] == [{"loc": ["body", "amount"], "msg": body["errors"][0]["msg"]}]
    assert "not a number" not in r.text  # the input is not echoed


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/nowhere", 404, "not_found"),
        ("/http/401", 401, "unauthenticated"),
        ("/http/403", 403, "forbidden"),
        ("/http/418", 418, "http_error"),
        ("/http/503", 503, "http_error"),
    ],
)
def test_http_exceptions(client: TestClient, path: str, status: int, code: str) -> None:
    r = client.get(path)
    assert r.status_code == status
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = r.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://credit.procurement.gov.cn/problems/{code}"


def test_http_exception_keeps_detail(client: TestClient) -> None:
    assert client.get("/http/418").json()["detail"] == "custom detail"
    assert client.get("/http/401").headers["www-authenticate"] == "Bearer"


def test_method_not_allowed_keeps_allow_header(client: TestClient) -> None:
    r = client.delete("/problem")
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"
    assert "GET" in r.headers["allow"]


def test_unexpected_error_does_not_leak(client: TestClient) -> None:
    r = client.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.json()["code"] == "internal_error"
    assert "secret" not in r.text and "RuntimeError" not in r.text


def test_point1_a_region_without_policy_is_answered_a_problem_naming_it(client: TestClient) -> None:
    assert client.get("/policy/410322").status_code == 200
    r = client.get("/policy/110105")
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.json()["code"] == "no_policy" and r.json()["region"] == "110105"
