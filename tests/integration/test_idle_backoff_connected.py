"""Idle back-off of a latency consumer's fetch wait (issue 19) on the real local broker (Tansu):
a subscriber that finds nothing for a while fetches with the background wait, and its first
record brings it back to its short wait."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import Context
from faststream.kafka import KafkaBroker

from deploy.local.components import free_port, start_tansu
from services.common.settings import Settings
from services.common.subscribers import back_off_idle_consumers, batch_options
from tests.support.kafka import produce_raw
from tests.support.poll import eventually

pytestmark = pytest.mark.connected


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    tansu = start_tansu(port, Path(tmp_path_factory.mktemp("tansu")) / "tansu.log")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        tansu.stop()


async def test_an_idle_consumer_waits_longer_until_its_first_record(bootstrap: str) -> None:
    settings = Settings(kafka_fetch_profile="local", kafka_idle_backoff_seconds=1.0)
    topic, group = f"idle-{uuid.uuid4().hex[:8]}", "credit-publication"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()

    broker = KafkaBroker(bootstrap)
    received: list[bytes] = []

    @broker.subscriber(topic, **batch_options(settings, group_id=group))
    async def handle(body: Any, message: Any = Context("message")) -> None:
        received.extend(r.value for r in message.raw_message)

    await broker.start()
    try:
        assert back_off_idle_consumers(broker, settings) == 1
        consumer = broker.subscribers[0].consumer  # type: ignore[attr-defined]
        fetcher = consumer._fetcher
        assert fetcher._fetch_max_wait_ms == 50

        async def wait() -> int:
            return int(fetcher._fetch_max_wait_ms)

        await eventually(wait, until=lambda w: w == 500, timeout=10)
        await produce_raw(bootstrap, topic, b"first", [], key=b"k")
        await eventually(lambda: asyncio.sleep(0, result=list(received)), until=lambda r: r == [b"first"], timeout=10)
        assert await wait() == 50
        await eventually(wait, until=lambda w: w == 500, timeout=10)  # and up again once idle
    finally:
        await broker.stop()
