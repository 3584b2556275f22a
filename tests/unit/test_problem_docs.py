"""Issue 22: the error codes are read from the source, each has its words, each `type` resolves to a
page, Chinese titles on request, and every route of the merged OpenAPI documents its problems."""

import ast
import string
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from services.common.problem_catalogue import SERVICES, catalogue, scan
from services.common.problem_texts import DERIVED, DETAILS, TEXTS, prefers_chinese
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


COMMON = ("unauthenticated", "forbidden", "not_found", "invalid_request", "internal_error", "no_policy",
          "database_unavailable", "service_unavailable", "record_not_found", "payload_too_large")  # fmt: skip


def test_the_common_codes_have_a_chinese_detail_in_the_catalogue() -> None:
    assert set(COMMON) <= set(DETAILS) <= set(catalogue())
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in DETAILS.values())


def _placeholders(template: str) -> set[str]:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return {DERIVED.get(name, name) for name in names}


def test_every_raiser_gives_the_values_its_chinese_detail_names() -> None:
    """Read from the source as the catalogue is: a `Problem(...)` of a code whose Chinese detail names
    `{x}` passes `x` as an extension member or in `values={...}`; a rule refusal (no values) of such
    a code, or a raiser without them, would answer the English detail."""
    named = {code: _placeholders(t) for code, t in DETAILS.items() if _placeholders(t)}
    constants: dict[str, str] = {}
    trees = [ast.parse(p.read_text()) for p in sorted(SERVICES.rglob("*.py")) if "migrations" not in p.parts]
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                constants.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    short: list[str] = []
    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            at = 0 if callee in ("Rejection", "Refusal", "refusal") else 1
            arg = node.args[at] if len(node.args) > at else None
            code = arg.value if isinstance(arg, ast.Constant) else constants.get(getattr(arg, "id", ""))
            if code not in named or callee not in (
                "Problem",
                "_problem",
                "_service_problem",
                "Rejection",
                "Refusal",
                "refusal",
            ):
                continue
            found.add(str(code))
            given = {k.arg for k in node.keywords if k.arg}
            given |= {"service"} if callee == "_service_problem" else set()
            for k in node.keywords:
                if k.arg == "values" and isinstance(k.value, ast.Dict):
                    given |= {key.value for key in k.value.keys if isinstance(key, ast.Constant)}
            if not named[str(code)] <= given:
                short.append(f"{code} at line {node.lineno}: needs {sorted(named[str(code)] - given)}")
    assert short == []
    assert found == set(named)  # each templated code is raised somewhere the test can see


async def test_problem_details_in_chinese_when_asked() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/appeals/{appeal_id}")
    async def appeal(appeal_id: str) -> dict:
        raise Problem(
            404, "appeal_not_found", "Appeal not found", f"no appeal {appeal_id}", values={"appeal_id": appeal_id}
        )

    @app.get("/closed")
    async def closed() -> dict:
        raise Problem(409, "task_closed", "Task closed", "the task is completed", state="completed")

    @app.get("/odd")
    async def odd() -> dict:  # a template value missing: the English detail stays, the title is Chinese
        raise Problem(404, "appeal_not_found", "Appeal not found", "no appeal")

    zh_cn = {"Accept-Language": "zh-CN"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        en = (await c.get("/appeals/apl-7")).json()
        zh = (await c.get("/appeals/apl-7", headers=zh_cn)).json()
        validation = (await c.get("/appeals", headers=zh_cn)).json()
        closed_zh = (await c.get("/closed", headers=zh_cn)).json()
        odd_zh = (await c.get("/odd", headers=zh_cn)).json()
    assert en["detail"] == "no appeal apl-7" and "values" not in en and "appeal_id" not in en
    assert zh["detail"] == "没有您可查看的异议申请 apl-7。" and zh["title"] == "异议申请不存在" and "values" not in zh
    assert (validation["code"], validation["detail"]) == ("not_found", DETAILS["not_found"])
    assert closed_zh["detail"] == "该任务已办结，不能再操作。" and closed_zh["state"] == "completed"
    assert odd_zh["detail"] == "no appeal" and odd_zh["title"] == "异议申请不存在"


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
