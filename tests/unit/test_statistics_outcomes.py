"""Pushes and evaluations in the statistics read model (issue 17), against SQLite: the push outcomes on
`credit.pushes` counted by their own consumer per month and platform with the roll-up, once per id;
what is not a push outcome there dead-lettered with its reason (also through FastStream's
TestKafkaBroker and the real router); published evaluations counted by year, kind and grade with
their interviews; the new tables exported with Chinese headers."""

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.auth import Principal, Role
from services.common.cloudevents import encode_structured
from services.common.contracts import asyncapi
from services.common.contracts.owners import ANSWERS_UNKNOWN
from services.common.contracts.pushes import PUSH_DELIVERED, PUSH_FAILED
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.topics import DEAD_LETTER, PUSHES
from services.statistics.counting import CONSUMER
from services.statistics.dashboard import render
from services.statistics.exports import to_csv
from services.statistics.handlers import build_router
from services.statistics.models import MESSAGING
from services.statistics.push_counts import PUSH_CONSUMER, apply_pushes
from tests.support import statistics_events as s
from tests.unit.test_statistics import engine, feed, figures  # noqa: F401 - the fixture


async def pushes(engine: AsyncEngine, events: list[dict]) -> dict[str, int]:  # noqa: F811 - the fixture's name
    async with engine.begin() as conn:
        return await apply_pushes(conn, [s.inbound(e) for e in events])


async def dead_letters(engine: AsyncEngine) -> list[dict]:  # noqa: F811
    t = MESSAGING.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.c.payload).where(t.c.topic == DEAD_LETTER).order_by(t.c.seq))
        return [orjson.loads(r.payload)["data"] for r in rows]


def outcomes() -> list[dict]:
    march, april = "2026-03-15T02:00:00+00:00", "2026-04-02T03:00:00+00:00"
    return [
        s.event("push.delivered.v1", s.push("procurement", "delivered", at=march), id="p1"),
        s.event("push.failed.v1", s.push("credit", "acknowledged", at=march, attempts=40), id="p2"),
        s.event("push.failed.v1", s.push("public_credit", "not_configured", at=march), id="p3"),
        # 2026-04-01 00:30 in Beijing is still March 31st in UTC: counted in April.
        s.event(
            "push.delivered.v1",
            s.push("procurement", "delivered", record_id="rec-2", region="410323", at="2026-03-31T16:30:00+00:00"),
            id="p4",
        ),
        s.event("push.delivered.v1", s.push("credit", "delivered", record_id="rec-3", at=april), id="p5"),
    ]


async def test_push_outcomes_are_counted_by_month_and_platform_with_the_roll_up(engine: AsyncEngine) -> None:  # noqa: F811
    assert await pushes(engine, outcomes()) == {"counted": 5}
    city = await figures(engine, "410300")
    by_month = {m.month: (m.delivered, m.failed, m.not_configured) for m in city.pushes}
    assert by_month == {
        "2026-01": (0, 0, 0),
        "2026-02": (0, 0, 0),
        "2026-03": (1, 2, 1),
        "2026-04": (2, 0, 0),
        "2026-05": (0, 0, 0),
        "2026-06": (0, 0, 0),
    }
    assert [(p.platform, p.delivered, p.failed, p.not_configured) for p in city.push_platforms] == [
        ("credit", 1, 1, 0),
        ("procurement", 2, 0, 0),
        ("public_credit", 0, 1, 1),
    ]
    assert (city.summary.pushes_delivered, city.summary.pushes_failed) == (3, 2)
    county = await figures(engine, "410322")
    assert (county.summary.pushes_delivered, county.summary.pushes_failed) == (2, 2)
    sibling = await figures(engine, "410323")
    assert (sibling.summary.pushes_delivered, sibling.summary.pushes_failed) == (1, 0)
    province = await figures(engine, "410000", "2026-04", "2026-04")
    assert [(m.month, m.delivered) for m in province.pushes] == [("2026-04", 2)]

    # Redelivered (the relay republishes after a broker restart): nothing counted twice.
    assert await pushes(engine, outcomes()) == {"duplicate": 5}
    assert (await figures(engine, "410300")).summary.pushes_delivered == 3
    assert await dead_letters(engine) == []


async def test_what_is_not_a_push_outcome_is_dead_lettered_with_its_reason(engine: AsyncEngine) -> None:  # noqa: F811
    missing_platform = s.push("credit", "delivered")
    del missing_platform["platform"]
    refused = [
        s.event("push.bounced.v1", s.push("credit", "delivered"), id="x1"),  # no such type
        s.event("push.delivered.v2", s.push("credit", "delivered"), id="x2"),  # no such version
        s.event("push.delivered.v1", missing_platform, id="x3"),
        s.event("push.failed.v1", s.push("credit", "delivered"), id="x4"),  # a delivered state as a failure
        s.event("push.delivered.v1", s.push("credit", "delivered", region="4103"), id="x5"),
        s.event("push.delivered.v1", s.push("credit", "delivered", at="2026-03-15T02:00:00"), id="x6"),
    ]
    result = await pushes(engine, refused)
    assert result == {"rejected": 6}
    letters = await dead_letters(engine)
    assert [d["reason"] for d in letters] == [
        "unknown_type",
        "unknown_type",
        "invalid_data",
        "invalid_data",
        "invalid_data",
        "invalid_data",
    ]
    assert "accepted: v1" in letters[1]["message"]  # names the versions accepted
    assert "4103" in letters[4]["message"] and "offset" in letters[5]["message"]
    # The same id with another payload: a conflict, not a duplicate; the first stays counted.
    first = s.event("push.delivered.v1", s.push("credit", "delivered"), id="c1")
    other = s.event("push.delivered.v1", s.push("procurement", "delivered"), id="c1")
    assert await pushes(engine, [first]) == {"counted": 1}
    assert await pushes(engine, [other]) == {"rejected": 1}
    assert (await dead_letters(engine))[-1]["reason"] == "duplicate_id_conflict"
    assert [(p.platform, p.delivered) for p in (await figures(engine, "410300")).push_platforms] == [("credit", 1)]


async def test_published_evaluations_are_counted_by_year_kind_and_grade(engine: AsyncEngine) -> None:  # noqa: F811
    results = [
        s.event("evaluation.published.v1", s.evaluation("P1", "优秀"), id="ev1"),
        s.event("evaluation.published.v1", s.evaluation("P2", "较差", interview=True), id="ev2"),
        s.event("evaluation.published.v1", s.evaluation("P3", "较差", interview=True), id="ev3"),
        s.event(
            "evaluation.published.v1",
            s.evaluation("A1", "B", kind="agency", region="211000", published_at="2026-05-20T02:00:00+00:00"),
            id="ev4",
        ),
        s.event(
            "evaluation.published.v1",
            s.evaluation("P1", "良好", period="2024", published_at="2026-02-01T02:00:00+00:00"),
            id="ev5",
        ),
    ]
    assert await feed(engine, results) == {"counted": 5}
    assert await feed(engine, results[:2]) == {"duplicate": 2}
    shenyang = await figures(engine, "210100")
    assert [(r.year, r.subject_type, r.grade, r.published, r.interviews) for r in shenyang.evaluations] == [
        ("2025", "purchaser", "优秀", 1, 0),
        ("2025", "purchaser", "较差", 2, 2),
        ("2024", "purchaser", "良好", 1, 0),
    ]
    assert (shenyang.summary.evaluations_published, shenyang.summary.interviews) == (4, 2)
    province = await figures(engine, "210000")
    assert {(r.subject_type, r.grade) for r in province.evaluations} == {
        ("purchaser", "优秀"),
        ("purchaser", "较差"),
        ("purchaser", "良好"),
        ("agency", "B"),
    }
    march = await figures(engine, "210100", "2026-03", "2026-03")
    assert march.summary.evaluations_published == 3  # the 2024 result was published in February
    assert (await figures(engine, "410300")).evaluations == []


async def test_the_new_tables_export_with_chinese_headers(engine: AsyncEngine) -> None:  # noqa: F811
    await pushes(engine, outcomes())
    await feed(
        engine,
        [s.event("evaluation.published.v1", s.evaluation("P2", "较差", region="410300", interview=True), id="e")],
    )
    f = await figures(engine, "410300")
    rows = list(csv.reader(io.StringIO(to_csv(f, "push_platforms").decode("utf-8-sig"))))
    assert rows[0] == ["平台", "推送成功", "推送失败", "其中未配置地址"]
    assert ["信用中国", "1", "1", "0"] in rows and ["公共信用信息系统", "0", "1", "1"] in rows
    months = list(csv.reader(io.StringIO(to_csv(f, "pushes").decode("utf-8-sig"))))
    assert months[0][0] == "月份" and ["2026-03", "1", "2", "1"] in months
    evaluated = list(csv.reader(io.StringIO(to_csv(f, "evaluations").decode("utf-8-sig"))))
    assert evaluated == [["评价年度", "对象类型", "等级", "发布结果数", "约谈"], ["2025", "采购人", "较差", "1", "1"]]


class StubRelay:
    def wake(self) -> None:
        pass


@pytest.fixture
async def broker(engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[tuple[KafkaBroker, AsyncEngine]]:  # noqa: F811
    real = KafkaBroker()
    rt = Runtime(engine=engine, relay=StubRelay())  # type: ignore[arg-type]
    real.include_router(build_router(rt, Settings(credit_var_dir=tmp_path)))
    async with TestKafkaBroker(real) as br:
        yield br, engine


async def test_the_push_subscriber_counts_and_refuses_through_the_router(
    broker: tuple[KafkaBroker, AsyncEngine],
) -> None:
    br, engine = broker  # noqa: F811
    value, headers = encode_structured(outcomes()[0])
    await br.publish(value, PUSHES, key=b"procurement:rec-1:v1", headers={k: v.decode() for k, v in headers})
    await br.publish(b"{not json", PUSHES, key=b"k")
    assert (await figures(engine, "410300")).summary.pushes_delivered == 1
    assert [d["reason"] for d in await dead_letters(engine)] == ["malformed_event"]


def test_the_push_outcomes_are_in_the_asyncapi_document_and_statistics_answers_for_their_topic() -> None:
    doc = asyncapi.document()
    (channel,) = [c for c in doc["channels"].values() if c["address"] == PUSHES]
    names = {doc["components"]["messages"][key]["name"] for key in channel["messages"]}
    assert names == {PUSH_DELIVERED.type, PUSH_FAILED.type}
    assert ANSWERS_UNKNOWN[PUSHES] == "statistics" and PUSH_CONSUMER.answers_unknown
    assert not CONSUMER.answers_unknown  # the copy of the other services' topics refuses nothing


async def test_the_page_shows_the_push_and_evaluation_charts_with_their_tables(engine: AsyncEngine) -> None:  # noqa: F811
    await pushes(engine, outcomes())
    await feed(engine, [s.event("evaluation.published.v1", s.evaluation("P2", "较差", region="410322"), id="e")])
    who = Principal(sub="supervisor-1", role=Role.SUPERVISOR, org="410300", region="410300")
    html = render(await figures(engine, "410300"), who)
    for chart in ("pushes", "evaluations"):
        part = html.split(f'<figure data-chart="{chart}">', 1)[1].split("</figure>", 1)[0]
        assert "<svg" in part and 'class="mark"' in part and f'data-table="{chart}"' in part
        assert f"/console/dashboard/export/{chart}.xlsx?" in part
    pushes_part = html.split('<figure data-chart="pushes">', 1)[1].split("</figure>", 1)[0]
    assert "<td>2026-03</td><td>1</td><td>2</td><td>1</td>" in pushes_part
    assert "推送成功" in pushes_part and "2026-03 · 推送失败: 2" in pushes_part
    assert "<td>2025</td><td>采购人</td><td>较差</td><td>1</td><td>0</td>" in html
    assert 'data-table="push_platforms"' in html and "<td>公共信用信息系统</td>" in html
    assert '<div class="card" data-figure="pushes_failed">期间推送失败<b>2</b></div>' in html
