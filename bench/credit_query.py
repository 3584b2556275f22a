"""Credit query benchmark: open-loop load on `GET /v1/credit/supplier/{id}` through the gateway.

    python -m bench.credit_query [--api URL] [--rate 500] [--seconds 20] [--subjects 1000] [--seed 200]

First `--seed` suppliers get a record each through `POST /v1/reports` (a purchaser token minted
with the settings' secret, an Idempotency-Key each), and the benchmark waits until publication
shows them. The queried ids are those suppliers plus fresh valid USCCs up to `--subjects`.

Requests are sent at a fixed arrival rate, whatever the answers' latency (open loop: a slow answer
does not delay the next request, so a stall is measured rather than hidden, i.e. no coordinated
omission). Latency is from the moment a request was due to the moment its answer was read, so
time spent waiting for a free connection counts. The first `--warmup` seconds are not counted.
The GETs go out on `--connections` keep-alive connections of a lean httptools client
(bench/rawhttp.py); `--client httpx` uses httpx.AsyncClient instead, which on this machine costs
the generator about a core at 300 requests/s and so starves the stack it measures.
Against a stack started otherwise than by `bench.run_all`, start the gateway with
`GATEWAY_PUBLIC_RATE_LIMIT` above `--rate` (e.g. `2000/second`): one address asking 500 times a
second is what the per-client public limit refuses (429), and the refusals would count as errors.
Prints achieved requests/s, p50/p95/p99/max ms and the errors (non-200 answers, timeouts).
"""

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import orjson

from bench.common import latency_summary, out, run
from bench.intake import PURCHASER_ID, REGION, report, supplier_ids
from bench.rawhttp import OpenLoopGetter
from services.common.auth import mint_token
from services.common.lawdates import today
from services.common.settings import get_settings


@dataclass
class QueryResult:
    rate: float
    seconds: float
    requests: int
    ok: int
    errors: int
    requests_per_s: float
    latency: dict[str, float]
    late_dispatch_ms: float
    seeded: list[str]


def purchaser_token() -> str:
    return mint_token(
        sub="bench-purchaser",
        role="purchaser",
        org=PURCHASER_ID,
        region=REGION,
        secret=get_settings().credit_jwt_secret,
    )


async def seed(client: httpx.AsyncClient, n: int, *, concurrency: int = 8, timeout: float = 120) -> list[str]:
    """n suppliers with one general record each, visible on the public endpoint when this returns."""
    if n <= 0:
        return []
    suppliers = supplier_ids(n)
    occurred_on = (today() - timedelta(days=3)).isoformat()
    auth = {"Authorization": f"Bearer {purchaser_token()}"}
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in enumerate(suppliers):
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            i, supplier = queue.get_nowait()
            headers = {**auth, "Idempotency-Key": f"bench-{uuid.uuid4()}"}
            r = await client.post("/v1/reports", json=report(i, supplier, occurred_on), headers=headers)
            if r.status_code not in (200, 201):
                raise SystemExit(f"seeding failed: POST /v1/reports -> {r.status_code} {r.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    posted = time.perf_counter() - started
    deadline = time.monotonic() + timeout
    for supplier in (suppliers[-1], suppliers[0]):
        while True:
            r = await client.get(f"/v1/credit/supplier/{supplier}")
            if r.status_code == 200 and r.json()["records_in_force"]:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"seeded supplier {supplier} not visible on /v1/credit after {timeout:.0f} s")
            await asyncio.sleep(0.2)
    out(f"seeded {n} suppliers via POST /v1/reports in {posted:.1f} s ({n / posted:,.0f}/s), all published")
    return suppliers


class _Stats:
    """Results of the counted requests (index >= counted_from)."""

    def __init__(self, counted_from: int, total: int) -> None:
        self.counted_from = counted_from
        self.remaining = total
        self.latencies: list[float] = []
        self.errors = 0
        self.last_done = 0.0
        self.all_done = asyncio.Event()

    def result(self, index: int, due: float, ok: bool) -> None:
        done = time.perf_counter()
        if index >= self.counted_from:
            self.last_done = max(self.last_done, done)
            if ok:
                self.latencies.append((done - due) * 1000)
            else:
                self.errors += 1
        self.remaining -= 1
        if self.remaining == 0:
            self.all_done.set()


async def load(
    api: str,
    client: httpx.AsyncClient,
    subjects: list[str],
    *,
    rate: float,
    seconds: float,
    warmup: float,
    connections: int,
    use_httpx: bool,
) -> QueryResult:
    """Send `rate` GETs a second for warmup + seconds, each at its due time whatever the answers."""
    total = int(rate * (warmup + seconds))
    counted_from = int(rate * warmup)
    stats = _Stats(counted_from, total)
    rng = random.Random(7)
    paths = [f"/v1/credit/supplier/{rng.choice(subjects)}" for _ in range(total)]
    clock = time.perf_counter
    getter = OpenLoopGetter(api, connections, lambda i, due, status: stats.result(i, due, status == 200))
    requests = [getter.request_bytes(p) for p in paths]
    tasks: set[asyncio.Task] = set()

    async def via_httpx(i: int, due: float) -> None:
        try:
            ok = (await client.get(paths[i])).status_code == 200
        except httpx.HTTPError:
            ok = False
        stats.result(i, due, ok)

    if not use_httpx:
        await getter.warm()
    late = 0.0
    start = clock()
    first_counted = start + counted_from / rate
    for i in range(total):
        due = start + i / rate
        wait = due - clock()
        if wait > 0.0005:
            await asyncio.sleep(wait)
        if i >= counted_from:
            late = max(late, clock() - due)
        if use_httpx:
            t = asyncio.create_task(via_httpx(i, due))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        else:
            getter.get(i, due, requests[i])
    try:
        await asyncio.wait_for(stats.all_done.wait(), 30)
    except TimeoutError:
        stats.errors += stats.remaining  # never answered
    getter.close()
    elapsed = stats.last_done - first_counted
    ok = len(stats.latencies)
    return QueryResult(
        rate=rate,
        seconds=elapsed,
        requests=total - counted_from,
        ok=ok,
        errors=stats.errors,
        requests_per_s=ok / elapsed if elapsed > 0 else 0.0,
        latency=latency_summary(stats.latencies),
        late_dispatch_ms=late * 1000,
        seeded=[],
    )


async def bench(
    api: str,
    *,
    seed_api: str,
    rate: float,
    seconds: float,
    n_subjects: int,
    n_seed: int,
    known: list[str],
    warmup: float,
    connections: int,
    use_httpx: bool,
    settle: float = 0.0,
) -> QueryResult:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=4)
    timeout = httpx.Timeout(10.0, pool=30.0)
    async with httpx.AsyncClient(base_url=seed_api, limits=limits, timeout=timeout, trust_env=False) as seeder:
        seeded = known or await seed(seeder, n_seed)
    if known:
        out(f"{len(known)} suppliers with a record, seeded by an earlier run")
    async with httpx.AsyncClient(base_url=api, limits=limits, timeout=timeout, trust_env=False) as client:
        subjects = seeded + supplier_ids(max(0, n_subjects - len(seeded)))
        # The seeded records' own follow-up work (publication, repair starts) may end before the load.
        await asyncio.sleep(settle)
        result = await load(
            api,
            client,
            subjects,
            rate=rate,
            seconds=seconds,
            warmup=warmup,
            connections=connections,
            use_httpx=use_httpx,
        )
        result.seeded = seeded
        return result


def report_result(r: QueryResult, *, subjects: int, seeded: int) -> None:
    lat = r.latency
    out(f"credit query: GET /v1/credit/supplier/{{id}}, {subjects} subjects ({seeded} with a record), open loop")
    out(f"  target rate     {r.rate:8,.0f} requests/s for {r.seconds:.1f} s")
    out(f"  requests/s      {r.requests_per_s:8,.0f} (achieved, 200s)")
    out(
        f"  latency ms      p50 {lat['p50_ms']:.2f}  p95 {lat['p95_ms']:.2f}  "
        f"p99 {lat['p99_ms']:.2f}  max {lat['max_ms']:.2f}"
    )
    out(f"  errors          {r.errors} of {r.requests}")
    out(f"  worst dispatch delay of the generator {r.late_dispatch_ms:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.credit_query", description=__doc__.split("\n")[0])
    p.add_argument("--api", default="http://127.0.0.1:8000")
    p.add_argument("--seed-api", help="where the seeding reports go (default --api; the gateway for publication)")
    p.add_argument("--rate", type=float, default=500.0, help="requests/s, fixed arrival rate")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=2.0, help="seconds at the same rate, not counted")
    p.add_argument("--subjects", type=int, default=1000)
    p.add_argument("--seed", type=int, default=200, help="suppliers to give a record first via POST /v1/reports")
    p.add_argument("--connections", type=int, default=64, help="keep-alive connections to the API")
    p.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="raw: httptools protocol (lean, default); httpx: httpx.AsyncClient (costs ~1 core at 300 req/s)",
    )
    p.add_argument("--settle", type=float, default=0.0, help="seconds between the seeding and the load")
    p.add_argument("--json", type=Path, help="also write the figures to this file (bench.run_all reads them)")
    p.add_argument(
        "--known",
        type=Path,
        help="the --json of an earlier run on this stack: query its seeded suppliers instead of seeding new ones "
        "(while a backlog is digested, new reports would wait behind it)",
    )
    args = p.parse_args(argv)
    known = orjson.loads(args.known.read_bytes())["seeded"] if args.known else []
    result = run(
        bench(
            args.api,
            seed_api=args.seed_api or args.api,
            rate=args.rate,
            seconds=args.seconds,
            n_subjects=args.subjects,
            n_seed=min(args.seed, args.subjects),
            known=known,
            warmup=args.warmup,
            connections=args.connections,
            use_httpx=args.client == "httpx",
            settle=args.settle,
        )
    )
    report_result(result, subjects=args.subjects, seeded=len(result.seeded))
    if args.json:
        args.json.write_bytes(orjson.dumps(asdict(result)))
    return 1 if result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
