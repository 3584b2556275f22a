"""Issue 18 on the real stack: /metrics of every service after a burst (counters and histograms
present and moving, gauges sampled from the database, the Temporal SDK's worker metrics), and
tokens of an identity provider (a local OIDC provider with generated RS256 keys, rotated)."""

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.local.components import ManagedProcess, free_port, wait_for_http
from services.common.topics import INBOUND_BEHAVIOUR, RECORD_CREATED, RECORDS
from tests.conftest import bearer
from tests.stack import ROOT, Stack
from tests.support.factories import event, new_uscc, report_data
from tests.support.idp import LocalIdp, new_key
from tests.support.kafka import collect, produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected

SERVICES = ("evaluation", "evaluation-2", "publication", "repair", "appeal", "casework", "watch")
BURST = 60


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample at `url` as {(name, sorted labels): value}."""
    text = httpx.get(url, timeout=10, trust_env=False).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def total(samples: dict, name: str, **labels: str) -> float:
    return sum(
        v for (n, ls), v in samples.items() if n == name and all(dict(ls).get(k) == w for k, w in labels.items())
    )


def scrape_all(stack: Stack) -> dict[str, dict]:
    return {svc: scrape(f"{stack.url(svc)}/metrics") for svc in SERVICES}


def summed(scrapes: dict[str, dict], name: str, **labels: str) -> float:
    return sum(total(s, name, **labels) for s in scrapes.values())


async def test_metrics_move_after_a_burst(stack: Stack, api: httpx.AsyncClient) -> None:
    before = scrape_all(stack)
    good = [event(report_data()) for _ in range(BURST)]
    bad = [event(report_data(code="SUP-G-99")) for _ in range(3)]
    # A serious code reported by a purchaser: a determination task for the finance department.
    serious = [event(report_data(code="SUP-S-01"))]
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, good + bad + serious)
    subject = good[0]["data"]["subject"]["id"]
    headers = bearer("finance_officer", "410300", "410300")
    for _ in range(5):
        r = await api.get("/v1/records", params={"subject_type": "supplier", "subject_id": subject}, headers=headers)
        assert r.status_code == 200, r.text

    def grew(scrapes: dict[str, dict], name: str, **labels: str) -> float:
        return summed(scrapes, name, **labels) - summed(before, name, **labels)

    def moved(scrapes: dict[str, dict]) -> bool:
        # Received is counted when a batch arrives, processed (by outcome) when it is applied.
        return (
            grew(scrapes, "credit_events_received_total", service="evaluation") >= BURST + 4
            and grew(scrapes, "credit_events_consumed_total", service="evaluation") >= BURST + 4
            and grew(scrapes, "credit_events_dead_lettered_total", reason="unknown_behaviour_code") >= 3
        )

    after = await eventually(_async(scrape_all, stack), until=moved, timeout=60)

    # The batch timing histogram moved on the evaluation service.
    assert summed(after, "credit_batch_seconds_count", service="evaluation") > summed(
        before, "credit_batch_seconds_count", service="evaluation"
    )
    # The published records reached the read model and the repair windows: their consumers moved.
    for svc in ("publication", "repair"):
        was = total(before[svc], "credit_events_received_total", service=svc)
        await eventually(
            _async(scrape, f"{stack.url(svc)}/metrics"),
            until=lambda s, svc=svc, was=was: total(s, "credit_events_received_total", service=svc) > was,
            timeout=30,
        )
    # HTTP latency by route template (never the raw path), with buckets.
    route = {"route": "/v1/records", "method": "GET", "status": "2xx"}
    assert (
        summed(after, "credit_http_request_seconds_count", **route)
        - summed(before, "credit_http_request_seconds_count", **route)
        >= 5
    )
    assert summed(after, "credit_http_request_seconds_bucket", le="+Inf", **route) >= 5
    assert not any(subject in str(labels) for s in after.values() for (_, labels) in s)
    # Every service samples its outbox and the calendar; the outbox drains.
    for svc in SERVICES:
        name = "evaluation" if svc.startswith("evaluation") else svc
        assert ("credit_outbox_backlog", (("service", name),)) in after[svc], svc
        assert ("credit_outbox_oldest_age_seconds", (("service", name),)) in after[svc], svc
        assert ("credit_calendar_next_year_official", ()) in after[svc], svc
    # Service-specific gauges: the ledger's checkpoints, the determination task.
    assert total(after["evaluation"], "credit_ledger_checkpoint_age_seconds") < 60

    async def casework() -> dict:
        return scrape(f"{stack.url('casework')}/metrics")

    tasks = await eventually(
        casework, until=lambda s: total(s, "credit_tasks", kind="determination", state="open") >= 1, timeout=30
    )
    regions = {dict(ls)["region"] for (n, ls), v in tasks.items() if n == "credit_tasks" and v > 0}
    assert regions and all(len(r) == 6 and r.isdigit() for r in regions), regions


async def test_correlation_id_from_inbound_to_outbound(stack: Stack) -> None:
    """An inbound event's correlationid reaches the record.created.v1 its outbox publishes."""
    marker = f"trace-{uuid.uuid4().hex}"
    carried = event(report_data())
    carried["correlationid"] = marker
    plain = event(report_data())
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [carried, plain])
    ids = {carried["data"]["subject"]["id"]: marker, plain["data"]["subject"]["id"]: f"{plain['source']}#{plain['id']}"}

    def ours(e: dict) -> bool:
        return e["type"] == RECORD_CREATED and e["data"].get("subject", {}).get("id") in ids

    found = await collect(stack.bootstrap, RECORDS, lambda kept: len(kept) >= 2, match=ours, timeout=60)
    assert {e["data"]["subject"]["id"]: e.get("correlationid") for e in found} == ids


async def test_temporal_sdk_worker_metrics(stack: Stack) -> None:
    samples = scrape(f"http://127.0.0.1:{stack.sdk_metrics_ports['workflows']}/metrics")
    names = {name for name, _ in samples}
    assert any(n.startswith("temporal_worker_task_slots_available") for n in names), sorted(names)[:20]
    assert any(n.startswith("temporal_request") for n in names), sorted(names)[:20]


def _async(fn, *args):  # type: ignore[no-untyped-def]
    """`fn(*args)` as the coroutine factory `eventually` polls."""

    async def probe():  # type: ignore[no-untyped-def]
        return fn(*args)

    return probe


# --- tokens of an identity provider ---------------------------------------------------------------


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIdp]:
    with LocalIdp() as provider:
        yield provider


OIDC_LOGS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def oidc_evaluation(stack: Stack, idp: LocalIdp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The URL of the process; its log is OIDC_LOGS[url].
    """One more evaluation process on the stack's database, with production-shaped settings: tokens
    from the identity provider only (discovery, issuer, audience), JSON logs, not the development
    secret. Its broker and Temporal addresses lead nowhere on purpose, so it does not join the
    session's consumer groups (HTTP reads its database alone)."""
    port = free_port()
    log_file = tmp_path_factory.mktemp("oidc") / "evaluation-oidc.log"
    env = {
        **stack.env(),
        "SERVICE_PORT": str(port),
        "CREDIT_ENV": "staging",
        "CREDIT_JWT_SECRET": "a-staging-secret-only-for-service-tokens-0123",
        "CREDIT_LEDGER_SIGNING_SEED": "cd" * 32,
        "CREDIT_OIDC_DISCOVERY_URL": idp.discovery_url,
        "CREDIT_JWT_AUDIENCE": "credit-system",
        "CREDIT_JWKS_MIN_REFETCH_SECONDS": "0",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "DATABASE_POOL_SIZE": "2",
    }
    env.pop("TEMPORAL_METRICS_BIND", None)
    proc = ManagedProcess("evaluation-oidc").start(
        [sys.executable, "-m", "services.evaluation"], env=env, log_file=log_file, cwd=ROOT
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", 60, proc)
        OIDC_LOGS[f"http://127.0.0.1:{port}"] = log_file
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def test_identity_provider_tokens_with_rotation(oidc_evaluation: str, idp: LocalIdp) -> None:
    subject = new_uscc()
    params = {"subject_type": "supplier", "subject_id": subject}

    def get(tok: str, **headers: str) -> httpx.Response:
        return httpx.get(
            f"{oidc_evaluation}/v1/records",
            params=params,
            headers={"Authorization": f"Bearer {tok}", **headers},
            timeout=10,
            trust_env=False,
        )

    current = idp.publish("2026-12")
    correlation = f"test-{uuid.uuid4().hex}"
    accepted = get(idp.token(current, "2026-12"), **{"X-Correlation-Id": correlation})
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["x-correlation-id"] == correlation
    # The development HS256 token is refused when a provider is configured.
    assert get(bearer("finance_officer", "410300", "410300")["Authorization"][7:]).status_code == 401
    # Wrong audience, unknown key: refused.
    assert get(idp.token(current, "2026-12", audience="another-app")).status_code == 401
    assert get(idp.token(new_key(), "never-published")).status_code == 401
    # Rotation: the provider publishes a new key and withdraws the old one.
    rotated_in = idp.publish("2027-01")
    idp.retire("2026-12")
    assert get(idp.token(rotated_in, "2027-01")).status_code == 200
    refused = get(idp.token(current, "2026-12"))
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_token"


async def test_json_logs(oidc_evaluation: str) -> None:
    # Production-shaped settings log JSON lines (LOG_JSON unset, CREDIT_ENV not development): its
    # broker leads nowhere, so the background loops have logged their retries by now.
    def lines() -> list[str]:
        return [ln for ln in OIDC_LOGS[oidc_evaluation].read_text().splitlines() if ln.startswith("{")]

    found = await eventually(_async(lines), until=bool, timeout=30)
    records = [json.loads(ln) for ln in found]
    assert all({"event", "level", "timestamp"} <= r.keys() for r in records), records[:2]
