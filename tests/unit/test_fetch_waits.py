"""Fetch waits per consumer (issue 19): a real broker's defaults, the local broker's, and overrides."""

import pytest

from services.common.fetch_waits import BENCH_READER, INTAKE, LATENCY_POLL_MS
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
