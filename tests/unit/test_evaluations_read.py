"""What the console reads of the evaluations service (issue 15): the stored inspection draws read back
(newest first, paged, filtered, for the region's finance departments only), and the seven-category
tree in a purchaser's answer, current and published, each category holding its indicators' lines."""

from datetime import UTC, datetime

from services.evaluations.activities import EvaluationActivities
from services.evaluations.policy import SEVEN_CATEGORIES, assessment_policy_for
from services.evaluations.tree import category_tree
from tests.conftest import bearer
from tests.support.evaluations_year import AVERAGE, PERIOD, load_year
from tests.unit.test_evaluations_service import XUCHANG, _publish_agency_grades, service  # noqa: F401
from workflows.annual_evaluation.inputs import PublishRequest

SHENYANG = bearer("finance_officer", "210100", "210100", sub="officer-sy")
DRAWS = "/v1/inspections/draws"


async def test_the_stored_draws_are_read_back_newest_first_paged_and_filtered(service) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    engine, client = service
    await _publish_agency_grades(engine)
    seeds = [11, 12, 13]
    for seed in seeds:
        r = await client.get(f"/v1/inspections/sample?region=411000&kind=agency&size=2&seed={seed}", headers=XUCHANG)
        assert r.status_code == 200, r.text
    answer = await client.get(DRAWS, params={"region": "411000"}, headers=XUCHANG)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 3 and [d["seed"] for d in body["items"]] == [13, 12, 11]
    first = body["items"][0]
    assert first["drawn_by"] == "officer-xc" and len(first["drawn"]) == 2 and len(first["population"]) == 8
    assert {d["id"] for d in first["drawn"]} <= {p["id"] for p in first["population"]}
    paged = (await client.get(DRAWS, params={"region": "411000", "limit": 1, "offset": 1}, headers=XUCHANG)).json()
    assert (paged["total"], [d["seed"] for d in paged["items"]]) == (3, [12])
    county = bearer("finance_officer", "411002", "411002", sub="county")
    # The draws were made at the city: a county department does not see them.
    assert (await client.get(DRAWS, params={"region": "411002"}, headers=county)).json()["total"] == 0
    none = (await client.get(DRAWS, params={"region": "411000", "kind": "purchaser"}, headers=XUCHANG)).json()
    assert none["total"] == 0
    drawn = first["drawn"][0]["id"]
    found = (await client.get(DRAWS, params={"region": "411000", "subject": drawn}, headers=XUCHANG)).json()
    assert found["total"] >= 1 and all(drawn in {d["id"] for d in x["drawn"]} for x in found["items"])


async def test_the_draws_are_refused_to_anyone_but_the_regions_finance_departments(service) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _, client = service
    for who in (
        bearer("agency", "91411000MA0000001X", "411000"),
        bearer("subject", "91411081MA9GH1EF5N", "411000"),
        bearer("purchaser", "12210100MB0000001A", "411000"),
        SHENYANG,  # another region's department
    ):
        assert (await client.get(DRAWS, params={"region": "411000"}, headers=who)).status_code == 403
    assert (await client.get(DRAWS, params={"region": "411000"})).status_code == 401
    assert (await client.get(DRAWS, params={"region": "41100X"}, headers=XUCHANG)).status_code == 422


async def test_the_assessment_answers_the_seven_categories_with_their_indicators(service) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    engine, client = service
    async with engine.begin() as conn:
        await load_year(conn)
    path = f"/v1/purchasers/{AVERAGE}/assessment?region=210102&period={PERIOD}"
    current = (await client.get(path, headers=SHENYANG)).json()
    categories = current["categories"]
    assert tuple(c["name"] for c in categories) == SEVEN_CATEGORIES
    assert categories[1]["code"] == "efficiency"
    assert categories[1]["indicators"] == ["efficiency.contract_on_time", "efficiency.payment_on_time"]
    lines = {line["code"]: line["points"] for line in current["lines"]}
    for c in categories:
        assert c["points"] == round(sum(lines[i] for i in c["indicators"]), 2)
    assert round(sum(c["points"] for c in categories), 2) == current["total"]
    assert sum(c["weight"] for c in categories) == 100
    request = PublishRequest(
        kind="purchaser", region="210100", period=PERIOD, task_id="t-1", reviewed_by="reviewer-7",
        reviewed_at=datetime(2027, 1, 5, tzinfo=UTC),
    )  # fmt: skip
    await EvaluationActivities(engine).publish_evaluations(request)
    published = (await client.get(path, headers=SHENYANG)).json()
    assert published["state"] == "published" and published["categories"] == categories


def test_an_adjustment_belongs_to_no_category() -> None:
    policy = assessment_policy_for("210100")
    lines = [{"code": i.code, "points": 1} for i in policy.indicators()] + [{"code": "adjustment", "points": 5}]
    tree = category_tree(policy, lines)
    assert sum(c["points"] for c in tree) == len(policy.indicators())
    assert [len(c["indicators"]) for c in tree] == [len(c.indicators) for c in policy.categories]
