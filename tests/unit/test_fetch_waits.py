"""Fetch waits per consumer (issue 19): a real broker's defaults, the local broker's, and overrides."""

from types import SimpleNamespace

import pytest

from services.common.fetch_waits import (
    BENCH_READER,
    INTAKE,
    LATENCY_POLL_MS,
    MIN_BYTES_BACKGROUND,
    IdleBackoff,
    back_off_when_idle,
    idle_wait_ms,
)
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.evaluation.intake.handlers import GROUP_ID as INTAKE_GROUP
from services.publication.handlers import GROUP_ID as PUBLICATION_GROUP


def test_the_intake_consumer_is_the_one_the_local_profile_names() -> None:
    assert INTAKE == INTAKE_GROUP


def test_local_profile_in_development() -> None:
    s = Settings()
    assert s.fetch_wait_ms(INTAKE) == 25
    assert s.fetch_wait_ms(BENCH_READER) == 10
    assert s.fetch_wait_ms(PUBLICATION_GROUP) == 50
    assert s.fetch_wait_ms("credit-repair-records", background=True) == 500


def test_a_real_broker_waits_long_but_the_subscriber_looks_often() -> None:
    # credit_env production chooses the `kafka` profile (model_construct: no secrets needed here).
    s = Settings.model_construct(credit_env="production")
    assert {s.fetch_wait_ms(c) for c in (INTAKE, BENCH_READER, PUBLICATION_GROUP)} == {500}
    latency = batch_options(s, group_id=INTAKE)
    assert latency["fetch_max_wait_ms"] == 500
    # FastStream sleeps batch_timeout_ms after an empty getmany: on a latency path that is bounded.
    assert latency["batch_timeout_ms"] == LATENCY_POLL_MS
    background = batch_options(s, group_id="credit-appeal-records", background=True)
    assert (background["fetch_max_wait_ms"], background["batch_timeout_ms"]) == (500, 500)
    assert Settings(kafka_fetch_profile="kafka").fetch_wait_ms(INTAKE) == 500


def test_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_FETCH_MAX_WAIT_MS_BY_CONSUMER", '{"credit-publication": 20}')
    monkeypatch.setenv("KAFKA_BACKGROUND_FETCH_MAX_WAIT_MS", "900")
    s = Settings()
    assert s.fetch_wait_ms(PUBLICATION_GROUP) == 20
    assert s.fetch_wait_ms("credit-statistics", background=True) == 900
    assert s.fetch_wait_ms(INTAKE) == 25
    # A wait set for every latency-path consumer wins over the profile's own for the intake.
    monkeypatch.setenv("KAFKA_FETCH_MAX_WAIT_MS", "100")
    assert Settings().fetch_wait_ms(INTAKE) == 100


def test_batch_options_carry_the_group_and_its_waits() -> None:
    options = batch_options(Settings(), group_id=INTAKE, max_records=7)
    assert options["group_id"] == INTAKE and options["max_records"] == 7
    assert (options["fetch_max_wait_ms"], options["batch_timeout_ms"]) == (25, 25)


def test_idle_backoff_rises_after_a_quiet_spell_and_drops_at_the_first_records() -> None:
    now = [0.0]
    b = IdleBackoff(short_ms=50, idle_ms=500, after_seconds=2.0, clock=lambda: now[0])
    assert b.wait_after(False) == 50  # the first empty look starts the spell
    now[0] = 1.9
    assert b.wait_after(False) == 50
    now[0] = 2.0
    assert b.wait_after(False) == 500
    now[0] = 60.0
    assert b.wait_after(False) == 500
    assert b.wait_after(True) == 50  # records: back at once
    now[0] = 61.0
    assert b.wait_after(False) == 50  # a new spell starts from the empty look after the records
    now[0] = 62.9
    assert b.wait_after(False) == 50
    now[0] = 63.0
    assert b.wait_after(False) == 500


def test_only_latency_consumers_on_the_local_profile_back_off() -> None:
    local = Settings(kafka_fetch_profile="local")
    assert idle_wait_ms(local, 25) == 500 and idle_wait_ms(local, 50) == 500
    assert idle_wait_ms(local, 500) == 2000  # a background consumer: nobody waits on it
    assert idle_wait_ms(local, 2000) is None  # a consumer that already waits as long
    assert idle_wait_ms(Settings(kafka_fetch_profile="kafka"), 50) is None
    assert idle_wait_ms(Settings(kafka_fetch_profile="local", kafka_idle_backoff_seconds=0), 50) is None
    assert idle_wait_ms(Settings(kafka_fetch_profile="local", kafka_background_fetch_max_wait_ms=300), 50) == 300
    assert idle_wait_ms(Settings(kafka_fetch_profile="kafka"), 500) is None


async def test_a_watched_consumer_sets_its_fetchers_wait_after_each_getmany() -> None:
    class Consumer:
        def __init__(self) -> None:
            self._fetcher = SimpleNamespace(_fetch_max_wait_ms=50)
            self.batches: list[dict[str, list[int]]] = [{}, {}, {"tp": [1]}]
            self.calls: list[tuple[int, int | None]] = []

        async def getmany(self, *partitions: str, timeout_ms: int = 0, max_records: int | None = None) -> dict:
            self.calls.append((timeout_ms, max_records))
            return self.batches.pop(0)

    now = [0.0]
    consumer = Consumer()
    back_off_when_idle(consumer, IdleBackoff(50, 500, 1.0, clock=lambda: now[0]))  # type: ignore[arg-type]
    assert await consumer.getmany(timeout_ms=50, max_records=10) == {}
    now[0] = 1.0
    assert await consumer.getmany(timeout_ms=50, max_records=10) == {}
    assert consumer._fetcher._fetch_max_wait_ms == 500
    assert await consumer.getmany(timeout_ms=50, max_records=10) == {"tp": [1]}
    assert consumer._fetcher._fetch_max_wait_ms == 50
    assert consumer.calls == [(50, 10)] * 3  # the subscriber's arguments pass through


def test_background_consumers_wait_for_a_megabyte_or_their_wait() -> None:
    # A trickle must not cost a whole batch per record (bench/README.md "batches a trickle makes").
    for s in (Settings(), Settings.model_construct(credit_env="production")):
        background = batch_options(s, group_id="credit-statistics", background=True)
        assert background["fetch_min_bytes"] == MIN_BYTES_BACKGROUND == 1024 * 1024
        # Latency consumers answer at the first record (held fetches cost the local broker CPU).
        assert batch_options(s, group_id=INTAKE)["fetch_min_bytes"] == 1
    assert Settings().fetch_min_bytes(BENCH_READER) == 1


def test_min_bytes_override_by_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_FETCH_MIN_BYTES_BY_CONSUMER", '{"credit-statistics": 4096, "credit-evaluation": 2048}')
    s = Settings()
    assert batch_options(s, group_id="credit-statistics", background=True)["fetch_min_bytes"] == 4096
    assert batch_options(s, group_id=INTAKE)["fetch_min_bytes"] == 2048
    assert batch_options(s, group_id="credit-repair-records", background=True)["fetch_min_bytes"] == 1024 * 1024
