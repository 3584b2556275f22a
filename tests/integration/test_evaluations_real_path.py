"""Issue 15 through the real path, on the real stack (Tansu, PostgreSQL, the Temporal dev server, every
service): a year of synthetic projects of three Xuchang agencies (good, average, poor) sent as
procurement events on `credit.inbound.procurement` (CONTRACT v1.1 §1) to the watch, their records
made through the normal path (`behaviour.reported.v1` and `misconduct.determined.v1` on
`credit.inbound.behaviour`, recorded by the evaluation service under Luoyang's measures, where the
agencies also work), then the yearly run: the evaluations service fetches the watch's figures
(`/internal/v1/figures`, service token) and counts the records from its replica of `credit.records`
— started while the watch is down, the fetch is retried until the watch is back —; an officer
reviews, adjusts the average agency with a reason and publishes; the ranking and grades,
`evaluation.published.v1` on `credit.notices`, the published answer over HTTP with every number's
provenance and the adjustment's reason. Then supplier grades from records through the same path,
and the grade-weighted supplier draw.

The run is for Xuchang's county 411023 (covered by Xuchang's policy), so what other connected tests
send to Xuchang's other divisions is not in its population."""

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from temporalio.client import Client

from services.common.temporal import WORKFLOW_QUEUE
from services.common.topics import EVALUATION_PUBLISHED, INBOUND_BEHAVIOUR, INBOUND_PROCUREMENT, NOTICES
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.evaluations_path import PERIOD, after, at, new_uscc, replica_holds, temporal  # noqa: F401 - fixture
from tests.support.factories import determination, event, report_data
from tests.support.kafka import collect, produce
from tests.support.poll import eventually
from tests.support.procurement import procurement_event
from workflows.annual_evaluation.inputs import EvaluationRunInput, EvaluationRunResult, review_task_id
from workflows.annual_evaluation.workflow import AnnualEvaluationWorkflow

pytestmark = pytest.mark.connected

COUNTY = "411023"  # 许昌市建安区, under Xuchang (411000)
XUCHANG = bearer("finance_officer", "411000", "411000", sub="xuchang-officer")
REASON = "质疑答复超期（日常监管发现）"


GOOD, AVERAGE, POOR = (new_uscc("914110230") for _ in range(3))
# Per agency: which of its four projects are late at which stage (each project has four clocks:
# contract_signing, contract_publication, contract_filing, payment — 16 a year).
LATE = {
    GOOD: {},  # 16/16 on time
    AVERAGE: {0: {"contract_signing", "payment"}, 1: {"contract_signing", "contract_publication"}},  # 12/16
    POOR: {
        n: {"contract_signing", "contract_publication"} | ({"payment"} if n < 2 else set()) for n in range(4)
    },  # 6/16
}
# Records made through the normal path: general (by a purchaser, with evidence) and serious (a
# finance department's determination).
RECORDS = {GOOD: (0, 0), AVERAGE: (1, 0), POOR: (2, 1)}
# Xuchang's agency points (policies/xuchang-supervision.json): 100, −2 per general, −10 per serious
# record in force, −0.5 per percentage point of on-time rate under 95 %; bands A ≥ 90, B ≥ 75, C ≥ 60.
EXPECTED = [
    (GOOD, 100, "A"),  # nothing deducted
    (AVERAGE, 85, "B"),  # 100 − 2 × 1 − 0.5 × (95 − 75) − 3 (the officer's adjustment) = 85
    (POOR, 57.25, "D"),  # 100 − 2 × 2 − 10 × 1 − 0.5 × (95 − 37.5) = 100 − 4 − 10 − 28.75
]


def project_events(agency: str, n: int, late: set[str]) -> list[dict]:
    """One project's life, its facts spread over the year (CONTRACT v1.1 §1): on time a day after
    each start, late five working days after (every Xuchang deadline here is 1 or 2 working days)."""
    code = f"XC-EV-{agency[-6:]}-{n}-{uuid.uuid4().hex[:6]}"
    contract = f"HT-{code}"
    awarded = after(date(int(PERIOD), 2 + 2 * n, 1), 1)
    signed = after(awarded, 5 if "contract_signing" in late else 1)
    published = after(signed, 5 if "contract_publication" in late else 1)
    filed = after(signed, 1)
    invoiced = after(filed, 10)
    paid = after(invoiced, 5 if "payment" in late else 1)
    supplier = new_uscc("914110230")
    agency_of = {"id": agency, "name": "许昌某代理机构"}

    def fact(kind: str, day: date, contract_no: str | None = None) -> dict:
        return procurement_event(
            kind, code=code, at=at(day), region=COUNTY, supplier=supplier, agency=agency_of, contract_no=contract_no
        )

    return [
        fact("award.notified", awarded),
        fact("contract.signed", signed, contract),
        fact("contract.published", published, contract),
        fact("contract.filed", filed, contract),
        fact("invoice.received", invoiced, contract),
        fact("payment.made", paid, contract),
    ]


def record_events(subject: str, subject_type: str, general: int, serious: int) -> list[dict]:
    """Reports recorded under Luoyang's measures (410322): general by a purchaser with evidence,
    serious determined by the finance department."""
    codes = {"agency": ("AGY-G-01", "AGY-S-01"), "supplier": ("SUP-G-01", "SUP-S-01")}[subject_type]
    name = "许昌某代理机构" if subject_type == "agency" else "许昌某供应商"
    events = [
        event(report_data(subject_id=subject, subject_type=subject_type, code=codes[0], subject_name=name))
        for _ in range(general)
    ]
    for _ in range(serious):
        data = report_data(
            subject_id=subject, subject_type=subject_type, code=codes[1], reporter_type="finance",
            with_evidence=False, determination=determination(), subject_name=name,
        )  # fmt: skip
        events.append(event(data))  # a determination: misconduct.determined.v1
    return events


async def test_a_year_of_agencies_through_the_watch_and_the_records_ranked_graded_and_published(
    stack: Stack,
    api: httpx.AsyncClient,
    temporal: Client,  # noqa: F811 - the fixture
) -> None:
    projects = [
        e for agency, late in LATE.items() for n in range(4) for e in project_events(agency, n, late.get(n, set()))
    ]
    await produce(stack.bootstrap, INBOUND_PROCUREMENT, projects, key_of=lambda e: e["data"]["project"]["code"])
    reports = [e for agency, (g, s) in RECORDS.items() for e in record_events(agency, "agency", g, s)]
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, reports)

    # The watch has settled every clock (what an officer's ranking shows), the replica every record.
    def settled(r: httpx.Response) -> bool:
        items = {i["party"]["id"]: i for i in r.json().get("items", [])} if r.status_code == 200 else {}
        return all(sum(s["due"] for s in items.get(a, {"stages": {}})["stages"].values()) == 16 for a in LATE)

    await eventually(
        lambda: api.get("/v1/rankings", params={"kind": "agency", "region": COUNTY, "period": PERIOD}, headers=XUCHANG),
        until=settled,
        timeout=120,
    )
    await replica_holds(stack, list(RECORDS), 4)

    # The run starts while the watch is down: collect_figures fails and is retried (never a 0 drafted),
    # and goes on once the watch is back.
    stack.procs["watch"].stop()
    inp = EvaluationRunInput(
        kind="agency", region=COUNTY, period=PERIOD, review_due_working_days=10, interview_due_working_days=20
    )
    handle = await temporal.start_workflow(
        AnnualEvaluationWorkflow.run, inp, id=f"evaluation-run:agency:{COUNTY}:{uuid.uuid4().hex[:8]}",
        task_queue=WORKFLOW_QUEUE,
    )  # fmt: skip

    async def collecting() -> tuple[int, str]:
        pending = (await handle.describe()).raw_description.pending_activities
        ours = [a for a in pending if a.activity_type.name == "collect_figures"]
        return (ours[0].attempt, ours[0].last_failure.message) if ours else (0, "")

    try:
        attempt, failure = await eventually(collecting, until=lambda a: a[0] >= 2, timeout=60)
    finally:
        stack.start_service("watch")
    assert "the watch's figures could not be read" in failure
    task_id = review_task_id("agency", COUNTY, PERIOD, 1)
    assert (await api.get(f"/v1/tasks/{task_id}", headers=XUCHANG)).status_code == 404  # nothing drafted meanwhile
    task = await eventually(
        lambda: api.get(f"/v1/tasks/{task_id}", headers=XUCHANG), until=lambda r: r.status_code == 200, timeout=90
    )
    drafts = {d["subject_id"]: d for d in task.json()["context"]["drafts"]}
    assert {s: (drafts[s]["total"], drafts[s]["grade"]) for s in LATE} == {
        GOOD: (100, "A"),
        AVERAGE: (88, "B"),  # before the adjustment
        POOR: (57.25, "D"),
    }
    # While reviewing, the officer reads the draft (every number's source) and adjusts one, with a reason.
    draft = (
        await api.get(
            f"/v1/agencies/{AVERAGE}/evaluation", params={"region": COUNTY, "period": PERIOD}, headers=XUCHANG
        )
    ).json()
    read_from = {line["code"]: line.get("read_from", {}).get("source_ref", "") for line in draft["lines"]}
    assert read_from["on_time"].startswith(f"watch GET /internal/v1/figures?kind=agency&region={COUNTY}")
    assert read_from["records.general"].startswith("credit.records replica")
    assert {line.get("read_from", {}).get("service") for line in draft["lines"]} >= {
        "watch",
        "evaluation (credit.records)",
    }
    body = {"region": COUNTY, "period": PERIOD, "points": -3, "reason": REASON}
    adjusted = await api.post(f"/v1/agencies/{AVERAGE}/evaluation/entries/adjustment", json=body, headers=XUCHANG)
    assert adjusted.status_code == 201, adjusted.text
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=XUCHANG)).status_code == 200
    done = await api.post(
        f"/v1/tasks/{task_id}/complete", json={"decision": "publish", "reason": "已核对"}, headers=XUCHANG
    )
    assert done.status_code == 200, done.text
    result: EvaluationRunResult = await handle.result()

    assert result.state == "published" and result.interview_task_ids == []
    ours = [(r.subject_id, r.total, r.grade) for r in result.published if r.subject_id in LATE]
    assert ours == EXPECTED
    public = (await api.get("/v1/agencies", params={"region": "411000", "period": PERIOD})).json()["items"]
    assert [(i["subject_id"], i["total"], i["grade"]) for i in public if i["subject_id"] in LATE] == EXPECTED
    answer = (
        await api.get(
            f"/v1/agencies/{AVERAGE}/evaluation", params={"region": COUNTY, "period": PERIOD}, headers=XUCHANG
        )
    ).json()
    assert answer["state"] == "published" and answer["lines"][-1]["reason"] == REASON
    lines = {line["code"]: line for line in answer["lines"]}
    assert lines["on_time"]["value"] == 0.75 and lines["records.general"]["value"] == 1
    assert lines["on_time"]["read_from"]["source_ref"].startswith("watch GET /internal/v1/figures")
    events = await collect(
        stack.bootstrap,
        NOTICES,
        lambda kept: {e["data"]["subject_id"] for e in kept} >= set(LATE),
        match=lambda e: e.get("type") == EVALUATION_PUBLISHED and e["data"]["region"] == COUNTY,
        timeout=60,
    )
    published = {e["data"]["subject_id"]: e["data"] for e in events}
    assert published[AVERAGE]["lines"][-1]["reason"] == REASON and published[AVERAGE]["grade"] == "B"
    assert published[POOR]["reviewed_by"] == "xuchang-officer"
    assert any("credit.records replica" in (line.get("read_from") or {}).get("source_ref", "")
               for line in published[POOR]["lines"])  # fmt: skip


async def test_supplier_grades_from_records_made_through_the_normal_path_and_drawn_by_grade(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    clean, poor = new_uscc("914110230"), new_uscc("914110230")
    reports = record_events(clean, "supplier", 1, 0) + record_events(poor, "supplier", 1, 1)
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, reports)
    await replica_holds(stack, [clean, poor], 3)
    grades = await api.get("/v1/suppliers/grades", params={"region": COUNTY}, headers=XUCHANG)
    assert grades.status_code == 200, grades.text
    by_supplier = {i["supplier"]: (i["total"], i["grade"]) for i in grades.json()["items"]}
    # Xuchang's supplier points: 100, −5 per general, −40 per serious record in force.
    assert by_supplier[clean] == (95, "A") and by_supplier[poor] == (55, "D")
    one = (await api.get(f"/v1/suppliers/{poor}/grade", params={"region": COUNTY}, headers=XUCHANG)).json()
    assert len(one["records_counted"]) == 2
    draw = await api.get(
        "/v1/inspections/sample", params={"region": COUNTY, "kind": "supplier", "size": 1, "seed": 3}, headers=XUCHANG
    )
    assert draw.status_code == 200, draw.text
    population = {p["id"]: (p["grade"], p["weight"]) for p in draw.json()["population"]}
    assert population[clean] == ("A", 1) and population[poor] == ("D", 8)
    assert datetime.fromisoformat(draw.json()["drawn_at"]) <= datetime.now(UTC) + timedelta(seconds=5)
