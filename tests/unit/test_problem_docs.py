"""Issue 22: the error codes are read from the source, each has its words, each `type` resolves to a
page, Chinese titles on request, and every route of the merged OpenAPI documents its problems."""

from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from services.common.problem_catalogue import catalogue, scan
from services.common.problem_texts import TEXTS, prefers_chinese
from services.common.problems import PROBLEM_TYPE_BASE, Problem, install_problem_handlers
from services.gateway.app import create_app
from services.gateway.docs import document_problems
from services.gateway.routes import build_routes


def test_the_catalogue_is_read_from_the_source() -> None:
    codes = scan()
    # A few codes raised in very different ways: a literal Problem, a named constant, a rule table,
    # a gateway problem, the 401 helper.
    assert codes["already_claimed"].statuses == {409}
    assert codes["invalid_text"].statuses == {422}
    assert codes["too_early"].statuses == {409} and "repair" in codes["too_early"].services
    assert codes["rate_limited"].statuses == {429}
    assert codes["token_expired"].statuses == {401}
    assert catalogue()["idempotency_conflict"].statuses == {409}  # the HTTP name of duplicate_id_conflict


def test_every_code_has_its_words_in_chinese_and_english() -> None:
    missing = sorted(set(catalogue()) - set(TEXTS))
    assert missing == [], f"codes without words in services/common/problem_texts.py: {missing}"
    assert all(zh and what and en for zh, what, en in TEXTS.values())


@pytest.mark.parametrize(
    ("header", "chinese"),
    [
        ("zh-CN", True),
        ("zh-CN,zh;q=0.9,en;q=0.8", True),
        ("en-US,zh;q=0.5", False),
        ("en;q=0.1,zh", True),
        (None, False),
        ("", False),
    ],
)
def test_prefers_chinese(header: str | None, chinese: bool) -> None:
    assert prefers_chinese(header) is chinese


async def test_problem_titles_in_chinese_when_asked() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/x")
    async def x() -> dict:
        raise Problem(409, "already_claimed", "Already claimed", "claimed by someone else")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        en = (await c.get("/x")).json()
        zh_response = await c.get("/x", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    zh = zh_response.json()
    assert en["title"] == "Already claimed" and "hint" not in en
    assert zh["title"] == "任务已被认领" and "认领" in zh["hint"] and zh_response.headers["content-language"] == "zh-CN"
    assert zh["code"] == en["code"] == "already_claimed" and zh["type"] == en["type"]


async def test_each_problem_type_resolves_to_a_page() -> None:
    gateway = create_app(build_routes([("/v1/credit", "publication", "http://127.0.0.1:9")]), public_rate_limit="")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://t") as c:
        index = await c.get("/problems")
        assert index.status_code == 200 and 'id="codes"' in index.text
        for code in catalogue():
            # The path of the problem's `type` URI, served by the gateway at the API's origin.
            page = await c.get(urlsplit(PROBLEM_TYPE_BASE + code).path)
            assert page.status_code == 200, code
            assert TEXTS[code][0] in page.text and PROBLEM_TYPE_BASE + code in page.text
        assert (await c.get("/problems/no_such_code")).status_code == 404


def _doc() -> dict:
    ops = {
        "/v1/credit/{subject_type}/{subject_id}": {"get": {"responses": {"200": {}}}, "x-service": "publication"},
        "/v1/tasks/{task_id}/claim": {
            "post": {"security": [{"bearer": []}], "responses": {"200": {}}},
            "x-service": "casework",
        },
        "/v1/reports": {"post": {"security": [{"bearer": []}], "responses": {"201": {}}}, "x-service": "evaluation"},
    }
    return {"openapi": "3.1.0", "info": {}, "paths": ops, "components": {"schemas": {"HTTPValidationError": {}}}}


def test_every_route_documents_its_problem_responses() -> None:
    doc = document_problems(_doc())
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "x-service":
                continue
            errors = {s: r for s, r in op["responses"].items() if s.startswith(("4", "5"))}
            assert {"422", "503"} <= set(errors), (path, method)
            for response in errors.values():
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
    claim = doc["paths"]["/v1/tasks/{task_id}/claim"]["post"]["responses"]
    assert {"401", "403", "404", "409"} <= set(claim)
    assert "already_claimed" in claim["409"]["x-problem-codes"]
    assert "not_assignee" in claim["403"]["x-problem-codes"]
    credit = doc["paths"]["/v1/credit/{subject_type}/{subject_id}"]["get"]["responses"]
    assert "401" not in credit and "invalid_identifier" in credit["422"]["x-problem-codes"]
    assert "rate_limited" in credit["429"]["x-problem-codes"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
