"""Fault tests on the real components: the broker restarted empty mid-stream (the local broker
keeps topics in memory), the evaluation service killed mid-batch, and the database taken away (the
services reach it through a proxy the test cuts). Every record the database
holds must reach its outbound topic and the public read model, and nothing is recorded twice."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from deploy.local.components import port_open
from services.common.cloudevents import encode_structured
from services.common.topics import INBOUND_BEHAVIOUR, RECORD_CREATED, RECORDS
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, event, new_uscc, report_data
from tests.support.kafka import collect
from tests.support.poll import eventually

pytestmark = [pytest.mark.connected, pytest.mark.slow]


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own stack: these tests break things other tests rely on."""
    s = Stack(workdir=Path(tmp_path_factory.mktemp("faults")), db_proxy=True)
    try:
        s.start()
        yield s
    finally:
        s.close()


async def _send_with_retry(bootstrap: str, events: list[dict]) -> None:
    """An outside producer that retries until the broker takes the chunk (possibly twice: the
    consumers' idempotency is part of what is tested)."""
    while True:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=3000, linger_ms=5)
        try:
            await producer.start()
            futures = []
            for e in events:
                value, headers = encode_structured(e)
                key = e["data"]["subject"]["id"].encode()
                futures.append(await producer.send(INBOUND_BEHAVIOUR, value, key=key, headers=headers))
            await asyncio.gather(*futures)
            return
        except (KafkaError, OSError, TimeoutError):
            await asyncio.sleep(0.2)
        finally:
            try:
                await producer.stop()
            except Exception:  # noqa: BLE001 - a producer of a dead broker may fail to close
                pass


async def _db_records(stack: Stack, source: str) -> dict[str, str]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        rows = await conn.fetch("SELECT id, source_event_id FROM evaluation_record WHERE source = $1", source)
        return {r["id"]: r["source_event_id"] for r in rows}
    finally:
        await conn.close()


async def _public_count(stack: Stack, ids: set[str]) -> int:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM publication_record WHERE record_id = ANY($1)", list(ids))
    finally:
        await conn.close()


async def _assert_everything_reached_everywhere(stack: Stack, source: str, expected_ids: set[str]) -> None:
    held = await eventually(
        lambda: _db_records(stack, source), until=lambda r: expected_ids <= set(r.values()), timeout=90
    )
    # One record per inbound event, never two.
    assert len(held) == len(set(held.values()))
    record_ids = set(held)
    created = await collect(
        stack.bootstrap,
        RECORDS,
        lambda kept: record_ids <= {e["data"]["record_id"] for e in kept},
        match=lambda e: e["type"] == RECORD_CREATED and e["data"]["record_id"] in record_ids,
        timeout=90,
    )
    assert record_ids <= {e["data"]["record_id"] for e in created}
    await eventually(lambda: _public_count(stack, record_ids), until=lambda n: n == len(record_ids), timeout=60)


async def test_broker_restarted_empty_mid_stream(fault_stack: Stack) -> None:
    s = fault_stack
    source = f"urn:eproc:fault-broker-{uuid.uuid4().hex[:8]}"
    events = [event(report_data(), source=source) for _ in range(600)]
    before, after = events[:300], events[300:]
    for i in range(0, len(before), 50):
        await _send_with_retry(s.bootstrap, before[i : i + 50])
    # Let part of the stream through, then lose the broker with everything it held.
    await eventually(lambda: _db_records(s, source), until=lambda r: len(r) >= 100, timeout=60)
    s.kill("tansu")
    assert not port_open("127.0.0.1", s.kafka_port)
    # Issue 21 (4): what the system consumed before the broker went is kept and still reaches every
    # place; what the broker had acknowledged and nobody consumed yet is gone with it (the local broker
    # is in memory: producers keep their own outbox and resend, see README).
    consumed = await _db_records(s, source)
    s.start_broker()
    for i in range(0, len(after), 50):
        await _send_with_retry(s.bootstrap, after[i : i + 50])
    # What was sent after the restart must all be recorded; what the database held before must
    # reach the new broker's topics and the public read model again.
    await _assert_everything_reached_everywhere(s, source, {e["id"] for e in after})
    held = await _db_records(s, source)
    assert len(held) >= 100 + len(after)
    assert consumed.items() <= held.items(), "a record consumed before the broker restart was lost"


async def test_evaluation_killed_mid_batch_and_restarted(fault_stack: Stack) -> None:
    s = fault_stack
    source = f"urn:eproc:fault-eval-{uuid.uuid4().hex[:8]}"
    events = [event(report_data(), source=source) for _ in range(3000)]
    await _send_with_retry(s.bootstrap, events)
    started = time.monotonic()
    await eventually(lambda: _db_records(s, source), until=lambda r: len(r) >= 200, timeout=90)
    held = await _db_records(s, source)
    assert len(held) < len(events), "the whole stream was handled before the kill; nothing was tested"
    s.kill("evaluation")
    s.start_service("evaluation")
    await _assert_everything_reached_everywhere(s, source, {e["id"] for e in events})
    assert len(await _db_records(s, source)) == len(events)
    assert time.monotonic() - started < 180


def _log_lines_since(path: Path, offset: int) -> list[str]:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace").splitlines()


async def test_database_outage_looks_like_an_outage(fault_stack: Stack) -> None:
    """Issue 21 (11): with the database gone, HTTP answers 503 with Retry-After (not 500/502),
    readiness fails while liveness holds, consumers wait with backoff instead of flooding their logs,
    and what was sent during the outage is recorded once the database is back."""
    s = fault_stack
    assert s.proxy is not None
    source = f"urn:eproc:fault-db-{uuid.uuid4().hex[:8]}"
    logs = {name: s.workdir / f"{name}.log" for name in ("evaluation", "evaluation-2", "publication")}
    async with httpx.AsyncClient(base_url=s.api, timeout=30, trust_env=False) as api:
        ready = await api.get(f"{s.url('evaluation')}/readyz")
        assert ready.status_code == 200, ready.text
        offsets = {name: path.stat().st_size for name, path in logs.items()}
        s.proxy.cut()
        try:
            started = time.monotonic()
            report = await api.post(
                "/v1/reports", json=report_data(), headers=bearer("purchaser", PURCHASER_ID, "410322")
            )
            assert report.status_code == 503, report.text
            assert report.json()["code"] == "database_unavailable" and int(report.headers["retry-after"]) > 0
            credit = await api.get(f"/v1/credit/supplier/{new_uscc()}")
            assert credit.status_code == 503 and "retry-after" in credit.headers, credit.text
            not_ready = await api.get(f"{s.url('evaluation')}/readyz")
            assert not_ready.status_code == 503 and "retry-after" in not_ready.headers
            assert not_ready.json()["checks"]["database"].startswith("unavailable")
            assert not_ready.json()["checks"]["broker"] == "ok"
            assert (await api.get(f"{s.url('evaluation')}/healthz")).status_code == 200
            events = [event(report_data(), source=source) for _ in range(20)]
            await _send_with_retry(s.bootstrap, events)
            # The outage lasts this long whatever happens: what is measured is what the consumers do
            # meanwhile (before: a NACK, an immediate re-read and a traceback, about 15 times a second).
            await asyncio.sleep(max(0.0, 12 - (time.monotonic() - started)))
        finally:
            s.proxy.restore()
        for name, path in logs.items():
            text = "\n".join(_log_lines_since(path, offsets[name]))
            tracebacks = text.split("Traceback (most recent call last):")[1:]
            # No consumer re-reads its batch in a loop: not one consumer traceback (each NACK logged one).
            consumer = [t for t in tracebacks if "faststream" in t or "common/batches.py" in t]
            assert not consumer, f"{name}: {len(consumer)} consumer tracebacks during the outage"
            # Temporal retries failed activities with its own backoff (1 s doubling): a few per activity
            # in flight (1, 2, 4, 8 s: at most 4 attempts each in 12 s; a process runs a few at once,
            # the ledger's checkpoint among them: seen 9 from two), not a flood (a re-read loop logged
            # about 15 a second, 180 in 12 s).
            bound = 4 * 4  # up to four activities in flight x four attempts each
            assert len(tracebacks) <= bound, f"{name}: {len(tracebacks)} tracebacks during the outage"
            assert text.count("database unavailable; waiting with backoff") <= 3, name
        await eventually(
            lambda: _db_records(s, source), until=lambda r: {e["id"] for e in events} <= set(r.values()), timeout=90
        )
        assert len(await _db_records(s, source)) == len(events)
        ready = await eventually(
            lambda: api.get(f"{s.url('evaluation')}/readyz"), until=lambda r: r.status_code == 200, timeout=30
        )
