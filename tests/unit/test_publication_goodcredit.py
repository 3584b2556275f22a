"""Good credit (000 §三.2) and the consortium rule (财库〔2016〕125号) in the public credit answer,
on SQLite through the same reader the fast path uses: decided at serve time from the view's
columns, so the answer changes with the date without recomputing anything."""

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import create_tables, make_engine
from services.common.identifiers import make_uscc
from services.common.lawdates import SHANGHAI, add_months, today
from services.common.policy import PublicationRules, policy_for
from services.common.problems import install_problem_handlers
from services.common.topics import RECORD_CREATED, RECORD_EXPIRED
from services.evaluation import events
from services.publication import goodcredit
from services.publication.api import router
from services.publication.consortium import worst_of
from services.publication.credit import CreditFastPath, CreditReader
from services.publication.models import TABLES
from services.publication.readmodel import apply
from services.publication.schemas import Blacklist, CreditReceipt, CreditSearch
from services.publication.summary import summary_zh
from tests.unit.test_publication_readmodel import record_row, to_inbound

RULES = policy_for("410300", today()).publication


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'publication.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def api(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.runtime = SimpleNamespace(engine=engine)
    app.state.credit_reader = CreditReader(engine, None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def record(engine: AsyncEngine, supplier: str, recorded_on: date, *, status: str = "in_force", version: int = 1):  # type: ignore[no-untyped-def]
    row = record_row(record_id=f"r-{supplier}-{recorded_on}", subject_id=supplier, version=version, status=status)
    row |= {"recorded_on": recorded_on, "valid_until": add_months(recorded_on, 12)}
    kind = RECORD_CREATED if version == 1 else RECORD_EXPIRED
    now = datetime.now(SHANGHAI)
    async with engine.begin() as conn:
        await apply(conn, [to_inbound(events.record_event(kind, row, event_time=now).event, key=supplier)], now=now)


def test_point6_good_credit_is_decided_on_records_in_force_only() -> None:
    """Issue 16 point 6: Luoyang names no look-back, so an expired or repaired record (ended) does not
    keep a supplier from good credit; a record in force does."""
    assert RULES.guarantee_lookback_months is None
    supplier = make_uscc("91410300MA0000009")
    ended = [
        {"status": "expired", "recorded_on": date(2025, 1, 10), "region": "410322"},
        {"status": "repaired", "recorded_on": date(2026, 1, 10), "region": "410322"},
        {"status": "withdrawn", "recorded_on": date(2026, 1, 1), "region": "410322"},
    ]
    cols = goodcredit.columns("supplier", supplier, ended, date(2026, 8, 1))
    assert (cols["guarantee_blocked"], cols["guarantee_after"]) == (False, None)
    assert goodcredit.answer(False, None, date(2026, 8, 1))["eligible"] is True
    in_force = [*ended, {"status": "in_force", "recorded_on": date(2026, 7, 1), "region": "410322"}]
    assert goodcredit.columns("supplier", supplier, in_force, date(2026, 8, 1))["guarantee_blocked"] is True
    assert goodcredit.columns("agency", "x", [], date(2026, 6, 1))["bond_reduction_percent"] is None


def test_a_lookback_applies_only_where_a_policy_names_it_with_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="source"):
        PublicationRules(guarantee_lookback_months=36)
    named = PublicationRules(guarantee_lookback_months=36, guarantee_lookback_source="某市办法第十条 (test)")
    monkeypatch.setattr(goodcredit, "_rules", lambda region, day: named)
    recorded = date(2024, 1, 10)
    cols = goodcredit.columns(
        "supplier",
        make_uscc("91410300MA0000009"),
        [{"status": "expired", "recorded_on": recorded, "region": "x"}],
        date(2026, 6, 1),
    )
    last = add_months(recorded, 36)
    assert cols["guarantee_after"] == last
    on_last = goodcredit.answer(False, last, last)
    assert (on_last["eligible"], on_last["reason"]) == (False, "recent_record")
    assert on_last["eligible_from"] == (last + timedelta(days=1)).isoformat()
    blocked = goodcredit.answer(True, last, last + timedelta(days=400))
    assert (blocked["eligible"], blocked["reason"], blocked["eligible_from"]) == (False, "record_in_force", None)


async def test_credit_answer_says_whether_the_supplier_has_good_credit(
    engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    clean, ended, listed = (make_uscc(f"91410300MA00001{i:02d}") for i in range(3))
    await record(engine, listed, today())
    # Known (issue 21), its only record ended years ago.
    long_ago = add_months(today(), -48)
    await record(engine, clean, long_ago)
    await record(engine, clean, long_ago, status="expired", version=2)
    # Expired 35 days ago: an ended record no longer counts (point 6; Luoyang names no look-back).
    await record(engine, ended, today() - timedelta(days=400))
    await record(engine, ended, today() - timedelta(days=400), status="expired", version=2)
    bodies = {s: (await api.get(f"/v1/credit/supplier/{s}")).json() for s in (clean, ended, listed)}
    assert bodies[clean]["good_credit"]["eligible"] is True
    assert bodies[ended]["good_credit"]["eligible"] is True
    assert bodies[ended]["records_in_force"] == []
    assert bodies[listed]["good_credit"]["reason"] == "record_in_force"
    assert bodies[clean]["known"] is True and bodies[clean]["grade"] == "good"
    # Issue 21 (10): a USCC never heard of is not "eligible for good credit": no record, no claim.
    never_seen = (await api.get(f"/v1/credit/supplier/{make_uscc('91410300MA0000199')}")).json()
    assert (never_seen["known"], never_seen["status"], never_seen["grade"]) == (False, "no_record", "no_record")
    assert never_seen["good_credit"]["eligible"] is None and never_seen["good_credit"]["reason"] == "no_record"
    assert never_seen["good_credit"]["free_bid_guarantee"] is None
    assert never_seen["may_participate"] is True  # nothing bars it either
    expert = (await api.get("/v1/credit/expert/EXP-1")).json()
    assert expert["known"] is False and expert["status"] == "no_record"
    assert "good_credit" not in (await api.get("/v1/credit/expert/EXP-1")).json()


async def test_consortium_is_the_worst_of_its_members(engine: AsyncEngine, api: httpx.AsyncClient) -> None:
    clean, listed = make_uscc("91410300MA0000201"), make_uscc("91410300MA0000202")
    await record(engine, listed, today())
    r = await api.get("/v1/credit/consortium", params={"members": f"{clean},{listed}"})
    assert r.status_code == 200
    body = r.json()
    assert body["member_ids"] == [clean, listed]
    assert [m["subject"]["id"] for m in body["members"]] == [clean, listed]
    assert body["good_credit"]["eligible"] is False and body["good_credit"]["reason"] == "record_in_force"
    # `clean` was never heard of: no claim for it, and the listed member rules the consortium out.
    assert body["members"][0]["good_credit"]["eligible"] is None and body["known"] is False
    # Only a general record (no status snapshot in this test): grade and participation follow the members.
    assert body["may_participate"] == all(m["may_participate"] for m in body["members"])
    for bad in (clean, f"{clean},{clean}", f"{clean},not-a-uscc"):
        problem = await api.get("/v1/credit/consortium", params={"members": bad})
        assert problem.status_code == 422, bad


def test_worst_of_takes_the_blacklisted_member() -> None:
    def member(status: str, until: str | None = None, eligible: bool = True) -> dict:
        good = {
            **goodcredit.answer(not eligible, None, date(2026, 12, 1), "410322"),
            "eligible_from": None,
            "reason": None if eligible else "record_in_force",
        }
        return {
            "status": status,
            "may_participate": status != "blacklisted",
            "blacklisted": status == "blacklisted",
            "blacklisted_until": until,
            "good_credit": good,
            "as_of": "2026-12-01",
        }

    body = worst_of(
        ["a", "b", "c"],
        [member("clean"), member("blacklisted", "2028-01-01", False), member("general_record", eligible=False)],
    )
    assert (body["status"], body["grade"], body["may_participate"], body["blacklisted_until"]) == (
        "blacklisted",
        "serious_dishonest",
        False,
        "2028-01-01",
    )
    assert body["good_credit"]["bond_reduction_percent"] is None and body["good_credit"]["bond_reduction"] is False
    assert orjson.dumps(body)


def test_point7_no_invented_bond_percentage_and_the_projects_region_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 point 7: 000 §三.2 — the finance department grants a free credit bid guarantee, the
    purchaser reduces the bond 根据项目实际. Luoyang sets no percentage: none is published. A region
    whose policy sets one (with its source) or forbids deposits says so, for the project's region."""
    day = date(2026, 12, 1)
    luoyang = goodcredit.answer(False, None, day, "410322")
    assert (luoyang["eligible"], luoyang["free_bid_guarantee"], luoyang["bond_reduction"]) == (True, True, True)
    assert luoyang["bond_reduction_percent"] is None and luoyang["policy_region"] == "410322"
    assert goodcredit.answer(False, None, day)["policy_region"] is None
    with pytest.raises(ValueError, match="source"):
        PublicationRules(bond_reduction_percent=30)
    with pytest.raises(ValueError, match="source"):
        PublicationRules(deposits_forbidden=True)
    fixture = {
        "419001": PublicationRules(bond_reduction_percent=30, bond_reduction_source="test fixture 第九条"),
        "411081": PublicationRules(deposits_forbidden=True, deposits_forbidden_source="许昌市春风行动（2023）第19项"),
    }
    monkeypatch.setattr(goodcredit, "_rules", lambda region, day: fixture[region])
    goodcredit.incentives.cache_clear()
    try:
        set_here = goodcredit.answer(False, None, day, "419001")
        assert (set_here["bond_reduction_percent"], set_here["bond_reduction_source"]) == (30, "test fixture 第九条")
        assert goodcredit.answer(True, None, day, "419001")["bond_reduction_percent"] is None
        xuchang = goodcredit.answer(False, None, day, "411081")
        assert xuchang["deposits_forbidden"] is True and xuchang["bond_reduction"] is False
        assert "第19项" in xuchang["deposits_forbidden_source"]
    finally:
        goodcredit.incentives.cache_clear()


async def test_point7_credit_answer_applies_the_asked_region(engine: AsyncEngine, api: httpx.AsyncClient) -> None:
    # A supplier registered in Fuzhou (350100) asked about for a Luoyang project: Luoyang's policy.
    supplier = "91350100M000100Y43"
    # Known (issue 21: a subject never heard of gets no good-credit claim), its one record ended.
    await record(engine, supplier, today() - timedelta(days=400))
    await record(engine, supplier, today() - timedelta(days=400), status="expired", version=2)
    body = (await api.get(f"/v1/credit/supplier/{supplier}", params={"region": "410322"})).json()
    assert body["good_credit"]["policy_region"] == "410322" and body["good_credit"]["bond_reduction_percent"] is None
    plain = (await api.get(f"/v1/credit/supplier/{supplier}")).json()
    assert plain["good_credit"]["eligible"] is True and plain["good_credit"]["policy_region"] is None
    elsewhere = await api.get(f"/v1/credit/supplier/{supplier}", params={"region": "110105"})
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "no_policy"
    bad = await api.get(f"/v1/credit/supplier/{supplier}", params={"region": "4103"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_identifier"


async def test_point13_a_signed_credit_check_receipt_verifies_offline(
    engine: AsyncEngine, api: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 point 13 (财库〔2016〕125号): the answer, the time, the subject and the ledger checkpoint
    it was read at, signed with the system's Ed25519 key; anyone verifies it offline."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from services.common import receipts as verifier
    from services.common.settings import get_settings
    from services.publication import receipts

    seed = bytes.fromhex(get_settings().credit_ledger_signing_seed)
    key = Ed25519PrivateKey.from_private_bytes(seed)
    head = {"tree_size": 7, "root_hash": "ab" * 32, "timestamp": "2026-12-07T01:00:00+00:00"}
    signature = key.sign(verifier.canonical({"log": verifier.LEDGER_LOG, **head}))
    public = receipts.signer().public_key
    checkpoint = {**head, "log": verifier.LEDGER_LOG, "signature": base64.b64encode(signature).decode()}
    checkpoint["public_key"] = public

    async def latest() -> tuple[dict | None, str | None]:
        return checkpoint, None

    monkeypatch.setattr(receipts, "latest_checkpoint", latest)
    supplier = make_uscc("91410300MA0000301")
    await record(engine, supplier, today() - timedelta(days=400))  # known (issue 21); ended
    await record(engine, supplier, today() - timedelta(days=400), status="expired", version=2)
    r = await api.get(f"/v1/credit/supplier/{supplier}/receipt", params={"region": "410322"})
    assert r.status_code == 200
    signed = r.json()
    CreditReceipt.model_validate(signed)  # the shape /openapi.json documents
    body = signed["receipt"]
    assert (body["subject"], body["region"], body["ledger_checkpoint"]["tree_size"]) == (
        {"type": "supplier", "id": supplier},
        "410322",
        7,
    )
    assert body["answer"]["good_credit"]["eligible"] is True and body["issued_at"]
    path = tmp_path / "receipt.json"
    path.write_bytes(orjson.dumps(signed))
    assert verifier.main([str(path), "--public-key", public]) == 0
    tampered = orjson.loads(path.read_bytes())
    tampered["receipt"]["answer"]["may_participate"] = not tampered["receipt"]["answer"]["may_participate"]
    path.write_bytes(orjson.dumps(tampered))
    assert verifier.main([str(path), "--public-key", public]) == 1
    other = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()
    path.write_bytes(orjson.dumps(signed))
    assert verifier.main([str(path), "--public-key", other]) == 1


def test_worst_of_with_a_member_never_heard_of() -> None:
    def member(status: str, eligible: bool | None) -> dict:
        good = {"eligible": eligible, "free_bid_guarantee": eligible, "bond_reduction": eligible,
                "bond_reduction_percent": None, "policy_region": None, "bond_reduction_source": None,
                "deposits_forbidden": None, "deposits_forbidden_source": None, "eligible_from": None,
                "reason": None if eligible else "no_record"}  # fmt: skip
        return {"status": status, "may_participate": True, "blacklisted": False, "blacklisted_until": None,
                "good_credit": good, "as_of": "2026-12-01", "known": status != "no_record"}  # fmt: skip

    body = worst_of(["a", "b"], [member("clean", True), member("no_record", None)])
    assert body["good_credit"]["eligible"] is None and body["known"] is False
    assert worst_of(["a", "b"], [member("clean", True), member("clean", True)])["good_credit"]["eligible"] is True


# --- issue 22: the answer a purchaser pastes into a bid file ------------------------------------------


def test_summary_of_a_blacklisted_supplier_names_the_end_and_the_basis() -> None:
    serious = {
        "severity": "serious",
        "valid_until": "2029-11-24",
        "legal_basis": "《政府采购法》第七十七条",
        "determination": {"decision_no": "洛财采罚〔2026〕3号"},
        "under_objection": True,
    }
    line = summary_zh(
        {"status": "blacklisted", "blacklisted": True, "blacklisted_until": "2029-11-24",
         "records_in_force": [serious], "as_of": "2026-12-07"}
    )  # fmt: skip
    assert line.startswith(
        "列入政府采购严重违法失信名单，禁止参加政府采购活动至2029-11-24，依据《政府采购法》第七十七条"
    )
    assert "洛财采罚〔2026〕3号" in line and "异议复核中" in line and line.endswith("（截至2026-12-07）")


def test_summary_tells_never_seen_from_checked_and_clean() -> None:
    never = summary_zh({"status": "no_record", "records_in_force": [], "as_of": "2026-12-07"})
    clean = summary_zh({"status": "clean", "records_in_force": [], "as_of": "2026-12-07",
                        "good_credit": {"eligible": True}})  # fmt: skip
    assert "无记录" in never and "不等于信用良好" in never and "可参加" not in never
    assert clean.startswith("无在公示期内的失信记录，可参加政府采购活动") and "符合信用记录良好激励" in clean


async def test_a_never_seen_uscc_is_answered_no_record(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"/v1/credit/supplier/{make_uscc('91410300MA0000777')}")).json()
    assert (body["known"], body["status"], body["grade"]) == (False, "no_record", "no_record")
    assert "无记录" in body["summary_zh"]


async def test_eligible_from_is_filled_while_a_record_is_in_force(engine: AsyncEngine, api: httpx.AsyncClient) -> None:
    supplier = make_uscc("91410300MA0000555")
    await record(engine, supplier, today())
    body = (await api.get(f"/v1/credit/supplier/{supplier}")).json()
    ends = date.fromisoformat(body["records_in_force"][0]["valid_until"])
    assert body["good_credit"]["reason"] == "record_in_force"
    assert body["good_credit"]["eligible_from"] == (ends + timedelta(days=1)).isoformat()
    assert f"有1条失信记录在公示期内（至{ends.isoformat()}）" in body["summary_zh"]
    assert f"最早自{ends + timedelta(days=1)}起" in body["summary_zh"]


async def test_search_by_name_among_published_subjects(engine: AsyncEngine, api: httpx.AsyncClient) -> None:
    supplier = make_uscc("91410300MA0000666")
    await record(engine, supplier, today())  # named 洛阳某某科技有限公司 (record_row)
    found = (await api.get("/v1/credit/search", params={"name": "某某科技"})).json()
    CreditSearch.model_validate(found)
    blacklist = (await api.get("/v1/blacklist")).json()
    Blacklist.model_validate(blacklist)
    assert found["total"] == 1 and found["items"][0]["subject"]["id"] == supplier
    assert found["items"][0]["summary_zh"]
    assert (await api.get("/v1/credit/search", params={"name": "没有这家公司"})).json()["total"] == 0
    assert (await api.get("/v1/credit/search", params={"name": "%"})).status_code == 422  # too short
    assert (await api.get("/v1/credit/search", params={"name": "%%"})).json()["total"] == 0  # not a wildcard


async def test_problem_texts_in_chinese_when_asked(api: httpx.AsyncClient) -> None:
    r = await api.get("/v1/credit/supplier/123", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_identifier"
    assert r.json()["title"] == "代码无效" and "校验位" in r.json()["hint"]
    assert (await api.get("/v1/credit/supplier/123")).json()["title"] == "Invalid identifier"


async def test_the_fast_path_answers_problems_in_chinese_too(engine: AsyncEngine) -> None:
    app = FastAPI()
    app.state.credit_reader = CreditReader(engine, None)
    app.add_middleware(CreditFastPath)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get("/v1/credit/supplier/123", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 422 and r.json()["title"] == "代码无效"
