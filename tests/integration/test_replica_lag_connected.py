"""Issue 23 on the real components: a subject acts on a record at once, before the appeal and
repair services' replicas of credit.records have heard of it.

The two services are held back by restarting them against a broker address nothing answers at:
their consumers read nothing, so their replicas cannot hold a record made meanwhile, however fast
the machine. Their HTTP, database and Temporal work as usual, and the evaluation service (the
records' owner) is reachable — unless a phase points them at an owner that is down too. Then they
are restarted on the real broker, catch up, and everything must end as it would have without lag,
with nothing done twice."""

from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.local.components import free_port
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import evidence, new_uscc, report_data
from tests.support.poll import eventually

pytestmark = [pytest.mark.connected, pytest.mark.slow]
COUNTY = "410399"  # tests/fixtures/policies: Luoyang's rules without the repair wait
RECORDER = bearer("finance_officer", "410300", "410300", sub="recorder-23")
REVIEWER = bearer("finance_officer", "410300", "410300", sub="reviewer-23")
GROUNDS = "处罚所依据的投标文件并非我公司提交，见公证书及平台登录日志"
COMMITMENT = "我单位已对业绩证明材料问题全面整改，承诺今后如实提供投标材料。"
NOWHERE = "rec-does-not-exist-anywhere"


@pytest.fixture(scope="module")
def lag_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own stack: the appeal and repair services are restarted with broken surroundings."""
    s = Stack(workdir=Path(tmp_path_factory.mktemp("replica-lag")))
    try:
        s.start()
        yield s
    finally:
        s.close()


def subject(org: str) -> dict[str, str]:
    return bearer("subject", org, COUNTY)


async def make_record(api: httpx.AsyncClient, supplier: str) -> str:
    data = report_data(subject_id=supplier, code="SUP-G-01", reporter_type="finance", region=COUNTY)
    r = await api.post("/v1/reports", json=data, headers=RECORDER)
    assert r.status_code == 201, r.text  # committed with its record.created.v1 in the outbox
    return r.json()["record_id"]


async def appeal(api: httpx.AsyncClient, org: str, record_id: str, key: str | None = None) -> httpx.Response:
    body = {"record_id": record_id, "grounds": GROUNDS, "evidence": evidence(1)}
    return await api.post("/v1/appeals", json=body, headers=subject(org) | ({"Idempotency-Key": key} if key else {}))


async def repair(api: httpx.AsyncClient, org: str, record_id: str) -> httpx.Response:
    body = {"record_id": record_id, "commitment": COMMITMENT, "evidence": evidence(1)}
    return await api.post("/v1/repairs", json=body, headers=subject(org))


def answer(r: httpx.Response) -> tuple[int, str | None]:
    return r.status_code, r.json().get("code")


async def owner_asked(stack: Stack, service: str) -> dict[str, float]:
    """credit_replica_owner_asked_total of a service, by answer."""
    async with httpx.AsyncClient(trust_env=False) as client:
        text = (await client.get(f"{stack.url(service)}/metrics")).text
    return {
        s.labels["outcome"]: s.value
        for family in text_string_to_metric_families(text)
        if family.name == "credit_replica_owner_asked"
        for s in family.samples
        if s.name.endswith("_total")
    }


async def readyz(stack: Stack, service: str) -> dict:
    async with httpx.AsyncClient(trust_env=False) as client:
        r = await client.get(f"{stack.url(service)}/readyz")
    # Held back against a broker nothing answers at, the service is not ready (503), and says why
    # beside its replica's lag; caught up, it is ready.
    assert r.status_code in (200, 503), r.text
    return r.json()


async def tasks_of(api: httpx.AsyncClient, record_id: str, kind: str) -> list[dict]:
    r = await api.get("/v1/tasks", params={"record_id": record_id, "kind": kind}, headers=REVIEWER)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def replica_version(stack: Stack, service: str, record_id: str) -> int | None:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await conn.fetchval(f"SELECT version FROM {service}_record WHERE record_id = $1", record_id)
    finally:
        await conn.close()


async def test_applications_before_the_replica_has_the_record(lag_stack: Stack) -> None:
    stack = lag_stack
    nowhere_broker = {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    for svc in ("appeal", "repair"):
        stack.restart(svc, overrides=nowhere_broker, log_name=f"{svc}-held")
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, trust_env=False) as api:
        supplier, stranger = new_uscc(), new_uscc()
        appealed, repaired = await make_record(api, supplier), await make_record(api, supplier)

        # --- held back: the replicas cannot have these records -----------------------------------
        filed = await appeal(api, supplier, appealed)
        assert filed.status_code == 201, filed.text
        submitted = await repair(api, supplier, repaired)
        assert submitted.status_code == 202, submitted.text
        assert (filed.json()["state"], submitted.json()["state"]) == ("filed", "submitted")
        # The owner was asked once per record (the held consumers applied nothing): the record came
        # from the owner, not from a replica that happened to be quick.
        for svc in ("appeal", "repair"):
            assert (await owner_asked(stack, svc)).get("found") == 1.0
            assert (await readyz(stack, svc))["replica"]["events_applied"] == 0
        # Another subject: 403, the record being real; an id that exists nowhere: 404 at once.
        assert answer(await appeal(api, stranger, appealed)) == (403, "not_subject")
        assert answer(await repair(api, stranger, repaired)) == (403, "not_your_record")
        assert answer(await appeal(api, supplier, NOWHERE)) == (404, "record_not_found")
        assert answer(await repair(api, supplier, NOWHERE)) == (404, "record_not_found")

        # --- the owner does not answer either: retry later, never "no record" ---------------------
        both_down = nowhere_broker | {"CREDIT_EVALUATION_URL": f"http://127.0.0.1:{free_port()}"}
        stack.restart("appeal", overrides=both_down, log_name="appeal-owner-down")
        third = await make_record(api, supplier)
        r = await appeal(api, supplier, third, key="issue-23-retry")
        assert answer(r) == (503, "record_not_yet_known") and r.headers["Retry-After"] == "2"
        assert answer(await appeal(api, supplier, NOWHERE))[0] == 503  # cannot be told apart: not 404
        # The record was known all along in its own service's replica: no owner needed for it.
        assert answer(await appeal(api, stranger, appealed)) == (403, "not_subject")
        # The held repair service (its owner reachable) shows the subject a record it has not heard
        # of, with the window computed from it; to anyone else it is no record, as for every read.
        shown = await api.get("/v1/repairs", params={"record_id": third}, headers=subject(supplier))
        assert shown.status_code == 200, shown.text
        assert (shown.json()["record"]["version"], shown.json()["count"]) == (1, 0)
        hidden = await api.get("/v1/repairs", params={"record_id": third}, headers=subject(stranger))
        assert answer(hidden) == (404, "record_not_found")

        # --- caught up: the same answers, and everything ends as it would have -------------------
        for svc in ("appeal", "repair"):
            stack.restart(svc, log_name=f"{svc}-caught-up")
        retried = await appeal(api, supplier, third, key="issue-23-retry")
        assert retried.status_code == 201, retried.text

        async def caught_up() -> list[dict]:
            return [await readyz(stack, svc) for svc in ("appeal", "repair")]

        ready = await eventually(
            caught_up, until=lambda rs: all(r["replica"]["events_applied"] >= 2 for r in rs), timeout=60
        )
        assert all(r["replica"]["lag_seconds"] is not None for r in ready)
        assert answer(await appeal(api, stranger, appealed)) == (403, "not_subject")
        assert answer(await repair(api, stranger, repaired)) == (403, "not_your_record")
        assert answer(await appeal(api, supplier, NOWHERE)) == (404, "record_not_found")
        assert answer(await repair(api, supplier, NOWHERE)) == (404, "record_not_found")

        # Each application reaches its review — one task each, no twin from the late event.
        for record_id, kind in ((appealed, "appeal_review"), (repaired, "repair_review"), (third, "appeal_review")):
            found = await eventually(lambda r=record_id, k=kind: tasks_of(api, r, k), until=lambda t: len(t) >= 1)
            assert len(found) == 1, found

        async def states() -> tuple[str, str]:
            a = await api.get(f"/v1/appeals/{filed.json()['appeal_id']}", headers=subject(supplier))
            p = await api.get(f"/v1/repairs/{submitted.json()['id']}", headers=subject(supplier))
            return a.json()["state"], p.json()["state"]

        assert await eventually(states, until=lambda s: s == ("under_review", "under_review"), timeout=60)
        # One repair window for the record, its one application; and the replicas, fed by the
        # owner first and the events later, hold the owner's newest version.
        repairs = (await api.get("/v1/repairs", params={"record_id": repaired}, headers=subject(supplier))).json()
        assert repairs["count"] == 1 and repairs["window"]["state"] == "open"
        for svc, record_id in (("appeal", appealed), ("repair", repaired)):
            newest = (await api.get(f"/v1/records/{record_id}", headers=REVIEWER)).json()["version"]
            await eventually(lambda s=svc, r=record_id: replica_version(stack, s, r), until=lambda v, n=newest: v == n)
