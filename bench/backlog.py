"""What a stack still owes after a load: outbox rows, pending commands, and consumer lag.

A load generator finishes when its own output has been read (`bench.intake` stops at the last
`record.created.v1`), but the background consumers of `credit.records` (statistics, repair,
appeal, the replicas, the watch) and the relays behind them go on digesting for a while. A figure
meant to be taken below saturation (the paced latency) must wait for that: `wait_drained`.
"""

import time

from bench.common import out
from deploy.local.components import run_sync


async def outbox_backlog(database_url: str) -> dict[str, int]:
    """Rows still owed: pending commands per command table; outbox rows not yet published."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        tables = [
            r["table_name"]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                "AND (table_name LIKE '%\\_command' OR table_name LIKE '%\\_outbox')"
            )
        ]
        counts: dict[str, int] = {}
        for t in tables:
            if t.endswith("_command"):
                n = await conn.fetchval(f"SELECT count(*) FROM \"{t}\" WHERE state = 'pending'")  # noqa: S608
            else:
                n = await conn.fetchval(
                    f'SELECT count(*) FROM "{t}" WHERE seq > '  # noqa: S608
                    f"(SELECT coalesce(max(seq), 0) FROM \"{t}_cursor\" WHERE name = 'relay')"
                )
            if n:
                counts[t] = int(n)
        return counts
    finally:
        await conn.close()


async def consumer_lag(bootstrap: str) -> dict[str, int]:
    """Messages each consumer group has not yet committed, over the partitions it has committed on.

    Group-less readers (the benchmarks' own) have no group and are not counted."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    from services.common.topics import ALL_TOPICS, PARTITIONS

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = [g for g, _ in await admin.list_consumer_groups()]
    finally:
        await admin.close()
    partitions = [TopicPartition(t, p) for t in ALL_TOPICS for p in range(PARTITIONS)]
    lag: dict[str, int] = {}
    ends: dict[TopicPartition, int] | None = None
    for group in groups:
        # A consumer that never subscribes only asks the coordinator for the group's offsets.
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            if ends is None:
                ends = await consumer.end_offsets(partitions)
            owed = 0
            for tp in partitions:
                committed = await consumer.committed(tp)
                if committed is not None:
                    owed += max(0, ends[tp] - committed)
            if owed:
                lag[group] = owed
        finally:
            await consumer.stop()
    return lag


def wait_drained(database_url: str, bootstrap: str, *, timeout: float, settle: float = 5.0) -> float | None:
    """Seconds until nothing is owed (two empty polls 2 s apart), then `settle` seconds more for
    what follows a delivery (workflow tasks, replicas of the last events); None after `timeout`."""
    started = time.monotonic()
    empty = 0
    while time.monotonic() - started < timeout:
        time.sleep(2.0)  # polled until the condition holds (or the timeout)
        owed: dict[str, int] = run_sync(lambda: outbox_backlog(database_url))
        owed.update(run_sync(lambda: consumer_lag(bootstrap)))
        if owed:
            empty = 0
            out(f"  draining: {owed}")
            continue
        empty += 1
        if empty >= 2:
            time.sleep(settle)
            return time.monotonic() - started
    return None
