"""Dashboard benchmark (issue 17): a synthetic province-year loaded into the statistics read model
on PostgreSQL, then the p95 of each dashboard request.

    python -m bench.dashboard [--records 200000] [--tasks 50000] [--requests 40]

The year: `--records` records in the province's cities and counties (17 cities, 6 counties each),
a tenth of them serious, over 40 behaviours; a fifth expire or are repaired later in the year;
`--tasks` tasks of the five kinds, four in five completed (some late) by 300 officers; appeals,
repair applications, expert standings, blacklist changes and deadline warnings besides. Every event
is a CloudEvent through the statistics consumer's real code (frame, idempotency, counters: the
write-time aggregation is what is measured first), in batches of 2,000 as Kafka would hand them.

Then each dashboard request is sent `--requests` times in process (httpx over ASGI, so the figures,
the JSON or the XLSX are built and serialised as in the service, without a network) for the
province, a city and a county, a quarter, the HTML page, and the largest exports. Prints events/s
of the load, rows in the counter table, and p50/p95/max ms of each request.
"""

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from bench.common import latency_summary, out, run
from deploy.local.components import create_database_async, ensure_postgres
from services.common.auth import mint_token
from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.runtime import Runtime
from services.common.settings import get_settings
from services.statistics.api import router as api_router
from services.statistics.counting import apply_events
from services.statistics.dashboard import COOKIE
from services.statistics.dashboard import router as page_router
from services.statistics.models import COUNTS, MIGRATIONS, TABLES
from tests.stack import PG_ADMIN
from tests.support import statistics_events as s

PROVINCE = "410000"
CITIES = [f"41{c:02d}00" for c in range(1, 18)]
COUNTIES = [city[:4] + f"{n:02d}" for city in CITIES for n in range(1, 7)]
KINDS = ["determination", "repair_review", "appeal_review", "push_failure", "listing_confirmation"]
CODES = [f"SUP-G-{i:02d}" for i in range(1, 31)] + [f"SUP-S-{i:02d}" for i in range(1, 11)]
YEAR_START = date(2026, 1, 1)
DAYS = 330
DATABASE = "credit_bench_dashboard"
LAST_DAY = date(2026, 12, 1)  # no event is sent from the future (the consumer refuses it)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


def synthetic_year(records: int, tasks: int, rng: random.Random) -> list[dict]:
    events: list[dict] = []
    n = 0

    def add(type_: str, data: dict, day: date) -> None:
        nonlocal n
        n += 1
        events.append(s.event(type_, data, id=f"b{n}", time=at(min(day, LAST_DAY))))

    for i in range(records):
        day = YEAR_START + timedelta(days=rng.randrange(DAYS))
        region, serious = rng.choice(COUNTIES), rng.random() < 0.1
        code = rng.choice(CODES[30:] if serious else CODES[:30])
        sev = "serious" if serious else "general"
        rec = s.record(f"r{i}", region=region, severity=sev, code=code, recorded_on=day, subject_id=f"S{i}")
        add("record.created.v1", rec, day)
        if rng.random() < 0.2:
            later = min(day + timedelta(days=rng.randrange(10, 200)), YEAR_START + timedelta(days=DAYS))
            status = rng.choice(["expired", "repaired"])
            add(f"record.{status}.v1", {**rec, "version": 2, "status": status}, later)
        if serious and rng.random() < 0.5:
            add("subject.status.changed.v1", s.subject(f"S{i}", True, region=region), day)
    for i in range(tasks):
        day = YEAR_START + timedelta(days=rng.randrange(DAYS))
        region, kind = rng.choice(COUNTIES), rng.choice(KINDS)
        due = day + timedelta(days=14)
        add(
            "task.created.v1",
            s.task_created(f"t{i}", kind=kind, region=region, opened_on=day.isoformat(), due_on=due.isoformat()),
            day,
        )
        if rng.random() < 0.8:
            done = day + timedelta(days=rng.randrange(1, 20))
            add(
                "task.completed.v1",
                s.task_completed(
                    f"t{i}",
                    kind=kind,
                    region=region,
                    due_on=due.isoformat(),
                    completed_at=at(done).isoformat(),
                    officer=f"officer-{rng.randrange(300)}",
                ),
                min(done, date(2026, 12, 1)),
            )
    for i in range(records // 60):
        day = YEAR_START + timedelta(days=rng.randrange(DAYS))
        region = rng.choice(COUNTIES)
        add("appeal.changed.v1", s.appeal(f"a{i}", "filed", region=region), day)
        add(
            "appeal.changed.v1",
            s.appeal(f"a{i}", rng.choice(["corrected", "upheld"]), region=region, version=2),
            day + timedelta(days=15),
        )
    for i in range(2000):
        add(
            "expert.suspended.v1",
            s.expert(f"EXP-{i}", rng.choice(["drawable", "suspended", "removed"]), region=rng.choice(CITIES)),
            YEAR_START,
        )
    for i in range(10000):
        day = YEAR_START + timedelta(days=rng.randrange(DAYS))
        add(
            "deadline.warning.v1",
            s.deadline(
                f"P{i}",
                rng.choice(["due_soon", "overdue", "escalated"]),
                region=rng.choice(COUNTIES),
                party=f"PUR-{rng.randrange(400)}",
            ),
            day,
        )
    return events


async def load(engine, events: list[dict]) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for i in range(0, len(events), 2000):
        items = [s.inbound(e) for e in events[i : i + 2000]]
        async with engine.begin() as conn:
            await apply_events(conn, items)
    return time.perf_counter() - started


async def measure(client: httpx.AsyncClient, url: str, requests: int, **kw) -> dict[str, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        r = await client.get(url, **kw)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return latency_summary(times)


async def main(records: int, tasks: int, requests: int, reuse: bool) -> None:
    ensure_postgres(PG_ADMIN)
    if reuse:  # the database a previous run loaded: measure the reads again only
        dsn = PG_ADMIN.rsplit("/", 1)[0] + "/" + DATABASE
    else:
        dsn = await create_database_async(PG_ADMIN, DATABASE)
    engine = make_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=4)
    await migrate(engine, "statistics", MIGRATIONS, TABLES)
    if not reuse:
        await loaded(engine, records, tasks)
    await reads(engine, requests)
    await engine.dispose()


async def loaded(engine, records: int, tasks: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(17)
    made = time.perf_counter()
    events = synthetic_year(records, tasks, rng)
    out(
        f"synthetic province-year: {len(events):,} events ({records:,} records, {tasks:,} tasks) "
        f"made in {time.perf_counter() - made:.1f} s"
    )
    seconds = await load(engine, events)
    async with engine.connect() as conn:
        rows = await conn.scalar(select(func.count()).select_from(COUNTS))
    out(
        f"loaded through the statistics consumer in {seconds:.1f} s: {len(events) / seconds:,.0f} events/s; "
        f"{rows:,} counter rows"
    )


async def reads(engine, requests: int) -> None:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        rows = await conn.scalar(select(func.count()).select_from(COUNTS))
    out(f"{rows:,} counter rows")

    app = FastAPI()
    app.include_router(api_router)
    app.include_router(page_router)
    app.state.runtime = Runtime(engine=engine, relay=None)  # type: ignore[arg-type]
    secret = get_settings().credit_jwt_secret
    jwt = mint_token(sub="bench", role="supervisor", org=PROVINCE, region=PROVINCE, secret=secret)
    headers = {"Authorization": f"Bearer {jwt}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
        cases = [
            ("dashboard, province (12 months)", "/v1/statistics/dashboard?region=410000&from=2026-01&to=2026-12"),
            ("dashboard, city", "/v1/statistics/dashboard?region=410300&from=2026-01&to=2026-12"),
            ("dashboard, county", "/v1/statistics/dashboard?region=410302&from=2026-01&to=2026-12"),
            ("dashboard, province, one quarter", "/v1/statistics/dashboard?region=410000&from=2026-04&to=2026-06"),
            ("export divisions.xlsx, province", "/v1/statistics/export/divisions.xlsx?region=410000"),
            ("export months.csv, province", "/v1/statistics/export/months.csv?region=410000"),
        ]
        await client.get(cases[0][1])  # warm the pool and the statement cache
        out(f"{'request':<40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, url in cases:
            m = await measure(client, url, requests)
            out(f"{name:<40} {m['p50_ms']:8.1f} {m['p95_ms']:8.1f} {m['max_ms']:8.1f}")
        page = await measure(client, "/console/dashboard?region=410000", requests, cookies={COOKIE: jwt})
        out(
            f"{'console page (HTML, SVG), province':<40} {page['p50_ms']:8.1f} {page['p95_ms']:8.1f} "
            f"{page['max_ms']:8.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="measure the reads of the last run's database again")
    args = parser.parse_args()
    run(main(args.records, args.tasks, args.requests, args.reuse))
