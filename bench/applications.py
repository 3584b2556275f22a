"""Applications the moment the subject is told of its record, during the intake burst (issue 23):

    python -m bench.applications [--events 10000] [--every 50] [--keep-logs DIR]

Starts a fresh stack (tests.stack.Stack, as bench.run_all), warms it up with 200 events, then
publishes `--events` behaviour reports at once (bench.intake's events: one new supplier each,
Luoyang county 410322) and reads `credit.records` as bench.intake does. For every `--every`-th
record, as soon as its `record.created.v1` is read — what a subject would be shown — the subject
applies over the gateway: appeals and repairs in turn. Meanwhile `/readyz` of the appeal and
repair services is polled for their replica lag.

Prints the answers by kind (an appeal is filed, 201; a repair in Luoyang is `too_early`, 409,
before the six months — both judged against the real record), their latency, the largest lag
seen, and how many applications found their record only by asking the owner: each of those is an
application the replica alone would have refused as `record_not_found`. Exits 1 on any 404 or 5xx.
"""

import argparse
import asyncio
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from bench.common import DEPLOYED_PACE, latency_summary, out, run, stop_stack
from bench.intake import REGION, _assign_at_end, bench, build_messages
from services.common.auth import mint_token
from services.common.settings import DEV_JWT_SECRET
from services.common.topics import INBOUND_BEHAVIOUR, RECORD_CREATED, RECORDS
from tests.stack import Stack

GROUNDS = "处罚所依据的投标文件并非我公司提交，见公证书及平台登录日志"
COMMITMENT = "我单位已全面整改，承诺今后如实提供投标材料。"
EVIDENCE = [{"kind": "document", "uri": "https://evidence.example/a.pdf", "sha256": "a" * 64}]


def subject_headers(supplier: str) -> dict[str, str]:
    token = mint_token(sub=f"bench-{supplier}", role="subject", org=supplier, region=REGION, secret=DEV_JWT_SECRET)
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}


async def owner_asked(client: httpx.AsyncClient, url: str) -> dict[str, float]:
    """Owner answers by outcome, and `seconds`: the total time spent waiting for them."""
    text = (await client.get(f"{url}/metrics")).text
    found: dict[str, float] = {}
    for f in text_string_to_metric_families(text):
        for s in f.samples:
            if f.name == "credit_replica_owner_asked" and s.name.endswith("_total"):
                found[s.labels["outcome"]] = s.value
            elif s.name == "credit_replica_owner_seconds_sum":
                found["seconds"] = s.value
    return found


async def burst(stack: Stack, n: int, every: int) -> int:
    source = f"urn:bench:{uuid.uuid4()}"
    messages, record_ids = build_messages(n, source)
    sampled = {record_ids[i]: (i, messages[i][0].decode()) for i in range(0, n, every)}
    answers: Counter[tuple[str, int, str]] = Counter()
    latencies: dict[str, list[float]] = {"appeal": [], "repair": []}
    lag = {"appeal": 0.0, "repair": 0.0}
    tasks: list[asyncio.Task] = []
    api = httpx.AsyncClient(base_url=stack.api, timeout=30, trust_env=False)
    direct = httpx.AsyncClient(timeout=5, trust_env=False)
    before = {svc: await owner_asked(direct, stack.url(svc)) for svc in ("appeal", "repair")}

    async def apply(i: int, record_id: str, supplier: str) -> None:
        kind = "appeal" if (i // every) % 2 == 0 else "repair"
        body: dict = {"record_id": record_id, "evidence": EVIDENCE}
        body |= {"grounds": GROUNDS} if kind == "appeal" else {"commitment": COMMITMENT}
        started = time.perf_counter()
        r = await api.post(f"/v1/{kind}s", json=body, headers=subject_headers(supplier))
        latencies[kind].append((time.perf_counter() - started) * 1000)
        answers[(kind, r.status_code, r.json().get("code") or r.json().get("state") or "")] += 1

    async def watch_lag(stop: asyncio.Event) -> None:
        while not stop.is_set():
            for svc in lag:
                try:
                    replica = (await direct.get(f"{stack.url(svc)}/readyz")).json()["replica"]
                except (httpx.HTTPError, KeyError, ValueError):
                    continue
                lag[svc] = max(lag[svc], replica.get("apply_delay_seconds") or 0.0)
            await asyncio.sleep(0.5)

    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=None, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, linger_ms=10, max_batch_size=256 * 1024)
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_lag(stop))
    try:
        await _assign_at_end(consumer, RECORDS, time.monotonic() + 30)
        started = time.monotonic()
        pending = [await producer.send(INBOUND_BEHAVIOUR, v, key=k, headers=h) for k, v, h in messages]
        await asyncio.gather(*pending)
        remaining = set(sampled)
        while remaining and time.monotonic() - started < 180:
            batch = await consumer.getmany(timeout_ms=100, max_records=10_000)
            for records in batch.values():
                for r in records:
                    e = orjson.loads(r.value)
                    rid = e.get("data", {}).get("record_id")
                    if e.get("type") == RECORD_CREATED and rid in remaining:
                        remaining.discard(rid)
                        i, supplier = sampled[rid]
                        tasks.append(asyncio.create_task(apply(i, rid, supplier)))
        await asyncio.gather(*tasks)
        # The replicas finish the burst (the lag watcher sees the largest delay); then the same
        # applications for other records of the burst, now in the replicas: the answers without lag.
        await asyncio.sleep(10)
        during = dict(answers), {k: list(v) for k, v in latencies.items()}
        answers.clear()
        for v in latencies.values():
            v.clear()
        for i in range(1, min(n, 40 * every), every):
            await apply(i, record_ids[i], messages[i][0].decode())
    finally:
        stop.set()
        await watcher
        await producer.stop()
        await consumer.stop()
    after = {svc: await owner_asked(direct, stack.url(svc)) for svc in ("appeal", "repair")}
    await api.aclose()
    await direct.aclose()

    out(f"burst of {n} reports; {len(sampled)} subjects applied at once ({len(remaining)} records never seen)")
    phases = (("during the burst", during), ("after it, replicas caught up", (answers, latencies)))
    for title, (counts, times) in phases:
        out(f" {title}:")
        for (kind, status, code), count in sorted(counts.items()):
            out(f"  {kind:7s} {status} {code:22s} {count}")
        for kind, values in times.items():
            q = latency_summary(values)
            out(f"  {kind} latency p50 {q['p50_ms']:.0f} / p99 {q['p99_ms']:.0f} / max {q['max_ms']:.0f} ms")
    for svc in ("appeal", "repair"):
        asked = {k: after[svc].get(k, 0) - before[svc].get(k, 0) for k in ("found", "not_found", "unavailable")}
        waited = after[svc].get("seconds", 0) - before[svc].get("seconds", 0)
        out(f"  {svc}: owner asked {asked} — each `found` would have been a 404 from the replica alone")
        out(f"  {svc}: owner's answer took {1000 * waited / max(1, sum(asked.values())):.0f} ms on average")
        out(f"  {svc}: largest replica apply delay seen {lag[svc]:.1f} s")
    bad = sum(c for a in (during[0], answers) for (_, status, _), c in a.items() if status == 404 or status >= 500)
    return 1 if bad or remaining else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.applications", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--every", type=int, default=50)
    p.add_argument("--keep-logs", type=Path)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="credit-bench-") as tmp:
        stack = Stack(workdir=Path(tmp), env_overrides=DEPLOYED_PACE)
        try:
            stack.start()
            run(bench(stack.bootstrap, 200, 0, 60))  # warm-up: the consumers join their groups
            return run(burst(stack, args.events, args.every))
        finally:
            stop_stack(stack, Path(tmp), args.keep_logs)


if __name__ == "__main__":
    raise SystemExit(main())
