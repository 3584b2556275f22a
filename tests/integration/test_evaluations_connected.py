"""Issue 15, the purchasers' assessment through the real path, on the real stack (Tansu, PostgreSQL,
the Temporal dev server, every service) — as tests/integration/test_evaluations_real_path.py does
for agencies: a year of synthetic projects of three Shenyang purchasers (good, average, poor) sent
as procurement events on `credit.inbound.procurement` (CONTRACT v1.1 §1) to the watch, which
watches Shenyang under the national deadlines (policies/shenyang.json: 政府采购法 第四十六条,
实施条例 第五十条, 政府采购法 第四十七条); then the yearly run: the evaluations service fetches the
watch's figures and counts the records in force and the purchasers' reports from its replica of
`credit.records` — none for these purchasers: no measures in the seeds list purchaser behaviours,
and a Shenyang purchaser's report can become a record nowhere yet (Shenyang has no behaviours
catalogue; elsewhere it is out of its scope, issue 21), so both figures are 0, read and shown with
their provenance (the counting itself: tests/unit/test_evaluations_collect.py). The first
draft lists the officer-entered indicators as missing (internal control, payment timeliness — no
payment clock in Shenyang —, policy functions, credit checks — no service holds them —, bonus);
the officer enters them through the HTTP API the review task links to, adjusts the average
purchaser with a reason, redrafts, and publishes: the ranking and grades, the poor purchaser's
`supervision_interview` task in casework, `evaluation.published.v1` on `credit.notices`, the
published answer over HTTP with every number's provenance.

The run is for Shenyang's district 210106 (铁西区, covered by Shenyang's policy 210100), which no
other connected test sends to."""

import uuid
from datetime import date, timedelta

import httpx
import pytest
from temporalio.client import Client

from services.common.temporal import WORKFLOW_QUEUE
from services.common.topics import EVALUATION_PUBLISHED, INBOUND_PROCUREMENT, NOTICES
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.evaluations_path import PERIOD, after, at, new_uscc, temporal  # noqa: F401 - fixture
from tests.support.kafka import collect, produce
from tests.support.poll import eventually
from tests.support.procurement import procurement_event
from workflows.annual_evaluation.inputs import EvaluationRunInput, EvaluationRunResult, review_task_id
from workflows.annual_evaluation.workflow import AnnualEvaluationWorkflow

pytestmark = pytest.mark.connected

DISTRICT = "210106"  # 沈阳市铁西区, under Shenyang (210100)
SHENYANG = bearer("finance_officer", "210100", "210100", sub="shenyang-officer")
REASON = "一项逾期系电子卖场系统故障所致"

GOOD, AVERAGE, POOR = (new_uscc("122101060") for _ in range(3))
# Per purchaser: which of its four projects are late at which stage (each project has the three
# national clocks: contract_signing 30 calendar days, contract_publication 2 and contract_filing 7
# working days — 12 a year; no payment clock: the law sets none, Shenyang none).
LATE = {
    GOOD: {},  # signing 4/4, publication 4/4
    AVERAGE: {0: {"contract_signing"}, 1: {"contract_publication"}},  # signing 3/4, publication 3/4
    POOR: {n: {"contract_publication"} | ({"contract_signing"} if n < 3 else set()) for n in range(4)},  # 1/4, 0/4
}
# The officer's scores where the system has no figure (indicator → points per purchaser).
OFFICER = {
    "internal_control.findings": ({GOOD: 15, AVERAGE: 13, POOR: 5}, "内控检查：制度与执行情况"),
    "efficiency.payment_on_time": ({GOOD: 10, AVERAGE: 9, POOR: 4}, "国库集中支付系统核查资金支付时限"),
    "policy_functions.officer": ({GOOD: 10, AVERAGE: 8, POOR: 3}, "中小企业预留份额核查"),
    "credit_duties.checks": ({GOOD: 10, AVERAGE: 6, POOR: 3}, "抽查采购文件中的信用查询记录"),
    "bonus.officer": ({GOOD: 8, AVERAGE: 4, POOR: 0}, "改革创新事项"),
}
# Shenyang's assessment (services/evaluations/policies/shenyang-assessment.json), by hand:
# (内部控制, 效率: signing + payment, 公平: 15 − 5 × 0 records, 政策功能, 公开: 15 × publication rate,
#  信用履职: reports 0 + checks, 加分)
#   GOOD    15 + (10 × 1 + 10)   + 15 + 10 + 15 × 1    + (0 + 10) + 8                   = 93     优秀
#   AVERAGE 13 + (10 × 0.75 + 9) + 15 + 8  + 15 × 0.75 + (0 + 6)  + 4 = 73.75, + 2 adjusted = 75.75 良好
#   POOR     5 + (10 × 0.25 + 4) + 15 + 3  + 15 × 0    + (0 + 3)  + 0                   = 32.5   较差, 约谈
EXPECTED = [(GOOD, 93, "优秀"), (AVERAGE, 75.75, "良好"), (POOR, 32.5, "较差")]


def project_events(purchaser: str, n: int, late: set[str]) -> list[dict]:
    """One project's contract stages, spread over the year: signed 5 working days after the award
    (in time) or 40 days after (past the 30 calendar days); published a working day after signing or
    five (past the 2); filed a working day after."""
    code = f"SY-EV-{purchaser[-6:]}-{n}-{uuid.uuid4().hex[:6]}"
    contract = f"HT-{code}"
    awarded = after(date(int(PERIOD), 2 + 2 * n, 1), 1)
    signed = after(awarded + timedelta(days=40), 1) if "contract_signing" in late else after(awarded, 5)
    published = after(signed, 5 if "contract_publication" in late else 1)
    filed = after(signed, 1)
    supplier = new_uscc("912101060")
    party = {"id": purchaser, "name": "沈阳某采购人"}
    agency = {"id": new_uscc("912101060"), "name": "沈阳某代理机构"}

    def fact(kind: str, day: date, contract_no: str | None = None) -> dict:
        return procurement_event(
            kind, code=code, at=at(day), region=DISTRICT, supplier=supplier, purchaser=party,
            agency=agency, contract_no=contract_no,
            source="urn:eproc:shenyang",
        )  # fmt: skip

    return [
        fact("award.notified", awarded),
        fact("contract.signed", signed, contract),
        fact("contract.published", published, contract),
        fact("contract.filed", filed, contract),
    ]


async def test_a_year_of_purchasers_through_the_watch_and_the_records_assessed_published_and_the_poor_one_interviewed(
    stack: Stack,
    api: httpx.AsyncClient,
    temporal: Client,  # noqa: F811 - the fixture
) -> None:
    projects = [
        e
        for purchaser, late in LATE.items()
        for n in range(4)
        for e in project_events(purchaser, n, late.get(n, set()))
    ]
    await produce(stack.bootstrap, INBOUND_PROCUREMENT, projects, key_of=lambda e: e["data"]["project"]["code"])

    # The watch has opened and settled every clock in Shenyang (no longer dead-lettered no_policy).
    def settled(r: httpx.Response) -> bool:
        items = {i["party"]["id"]: i for i in r.json().get("items", [])} if r.status_code == 200 else {}
        return all(sum(s["due"] for s in items.get(p, {"stages": {}})["stages"].values()) == 12 for p in LATE)

    ranking = await eventually(
        lambda: api.get(
            "/v1/rankings", params={"kind": "purchaser", "region": DISTRICT, "period": PERIOD}, headers=SHENYANG
        ),
        until=settled,
        timeout=120,
    )
    stages = {i["party"]["id"]: i["stages"] for i in ranking.json()["items"]}
    assert set(stages[GOOD]) == {"contract_signing", "contract_publication", "contract_filing"}  # no payment

    inp = EvaluationRunInput(
        kind="purchaser", region=DISTRICT, period=PERIOD, review_due_working_days=10, interview_due_working_days=20
    )
    handle = await temporal.start_workflow(
        AnnualEvaluationWorkflow.run, inp, id=f"evaluation-run:purchaser:{DISTRICT}:{uuid.uuid4().hex[:8]}",
        task_queue=WORKFLOW_QUEUE,
    )  # fmt: skip
    # The first draft: nothing scored yet, what the officer must enter listed per purchaser.
    first = review_task_id("purchaser", DISTRICT, PERIOD, 1)
    task = await eventually(
        lambda: api.get(f"/v1/tasks/{first}", headers=SHENYANG), until=lambda r: r.status_code == 200, timeout=120
    )
    context = task.json()["context"]
    assert [d for d in context["drafts"] if d["subject_id"] in LATE] == []
    for purchaser in LATE:
        assert {m.split(" ")[0] for m in context["missing"][purchaser]} == set(OFFICER)

    # The officer enters the officer-sourced indicators through the HTTP API, adjusts one, redrafts.
    for indicator, (points, reason) in OFFICER.items():
        for purchaser, value in points.items():
            body = {"region": DISTRICT, "period": PERIOD, "points": value, "reason": reason}
            r = await api.post(
                f"/v1/purchasers/{purchaser}/assessment/entries/{indicator}", json=body, headers=SHENYANG
            )
            assert r.status_code == 201, r.text
    body = {"region": DISTRICT, "period": PERIOD, "points": 2, "reason": REASON}
    adjusted = await api.post(f"/v1/purchasers/{AVERAGE}/assessment/entries/adjustment", json=body, headers=SHENYANG)
    assert adjusted.status_code == 201, adjusted.text
    assert (await api.post(f"/v1/tasks/{first}/claim", headers=SHENYANG)).status_code == 200
    redraft = {"decision": "redraft", "reason": "绩效考核人工指标已录入"}
    done = await api.post(f"/v1/tasks/{first}/complete", json=redraft, headers=SHENYANG)
    assert done.status_code == 200, done.text

    second = review_task_id("purchaser", DISTRICT, PERIOD, 2)
    task = await eventually(
        lambda: api.get(f"/v1/tasks/{second}", headers=SHENYANG), until=lambda r: r.status_code == 200, timeout=120
    )
    drafts = {d["subject_id"]: (d["total"], d["grade"]) for d in task.json()["context"]["drafts"]}
    assert [(p, *drafts[p]) for p in LATE] == EXPECTED  # the adjustment entered before the redraft counts
    assert (await api.post(f"/v1/tasks/{second}/claim", headers=SHENYANG)).status_code == 200
    publish = {"decision": "publish", "reason": "数据已核对"}
    done = await api.post(f"/v1/tasks/{second}/complete", json=publish, headers=SHENYANG)
    assert done.status_code == 200, done.text
    result: EvaluationRunResult = await handle.result()

    assert result.state == "published" and result.rounds == 2
    assert [(r.subject_id, r.total, r.grade) for r in result.published if r.subject_id in LATE] == EXPECTED
    listed = (await api.get("/v1/purchasers", params={"region": DISTRICT, "period": PERIOD}, headers=SHENYANG)).json()[
        "items"
    ]
    assert [(i["subject_id"], i["total"], i["grade"]) for i in listed if i["subject_id"] in LATE] == EXPECTED

    # The poor purchaser's 约谈 task in casework, and only its.
    interviews = await eventually(
        lambda: api.get("/v1/tasks", params={"kind": "supervision_interview", "limit": 500}, headers=SHENYANG),
        until=lambda r: r.status_code == 200 and any(t["subject"]["id"] == POOR for t in r.json()["items"]),
        timeout=90,
    )
    assert {t["subject"]["id"] for t in interviews.json()["items"]} & set(LATE) == {POOR}
    assert len(result.interview_task_ids) == 1

    # The published answer: every number with where it was read.
    answer = (
        await api.get(
            f"/v1/purchasers/{AVERAGE}/assessment", params={"region": DISTRICT, "period": PERIOD}, headers=SHENYANG
        )
    ).json()
    assert answer["state"] == "published" and answer["lines"][-1]["reason"] == REASON
    lines = {line["code"]: line for line in answer["lines"]}
    signing = lines["efficiency.contract_on_time"]
    assert signing["value"] == 0.75 and signing["points"] == 7.5
    assert signing["read_from"]["source_ref"].startswith(
        f"watch GET /internal/v1/figures?kind=purchaser&region={DISTRICT}"
    )
    assert lines["transparency.publication_on_time"]["value"] == 0.75
    reports = lines["credit_duties.reports"]
    assert (reports["value"], reports["points"]) == (0, 0)
    assert reports["read_from"]["service"] == "evaluation (credit.records)"
    assert f"reported by {AVERAGE}" in reports["read_from"]["source_ref"]
    assert reports["read_from"]["source_ref"].endswith(": none")
    assert lines["fairness.records"]["value"] == 0
    assert lines["fairness.records"]["read_from"]["source_ref"].startswith("credit.records replica")
    checks = lines["credit_duties.checks"]
    assert (checks["points"], checks["officer"]) == (6, "shenyang-officer")
    assert checks["reason"] == OFFICER["credit_duties.checks"][1] and "no service holds" in checks["note"]
    assert "no payment clock in Shenyang" in lines["efficiency.payment_on_time"]["note"]

    events = await collect(
        stack.bootstrap,
        NOTICES,
        lambda kept: {e["data"]["subject_id"] for e in kept} >= set(LATE),
        match=lambda e: e.get("type") == EVALUATION_PUBLISHED and e["data"]["region"] == DISTRICT,
        timeout=60,
    )
    published = {e["data"]["subject_id"]: e["data"] for e in events}
    assert published[POOR]["interview"] and not published[GOOD]["interview"] and not published[AVERAGE]["interview"]
    assert published[AVERAGE]["lines"][-1]["reason"] == REASON and published[AVERAGE]["grade"] == "良好"
    assert published[GOOD]["reviewed_by"] == "shenyang-officer"
    assert any(
        (line.get("read_from") or {}).get("source_ref", "").startswith("watch GET /internal/v1/figures")
        for line in published[POOR]["lines"]
    )
