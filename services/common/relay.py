"""Outbox relay: publishes what a service committed to its outbox, in commit order per key.

The local broker keeps topics in memory, so a broker restart loses everything it held. The relay
remembers the highest offset it was given per partition; when a later send lands below it, or a
partition it published to is found empty, the broker has lost data, and the relay publishes the
whole outbox again. Consumers are idempotent on (source, id), so republishing is safe; losing is not.
"""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.kafka_admin import ensure_topics
from services.common.leading import LeadingLoop, Round
from services.common.messaging import MessagingTables, writer_lock_key
from services.common.metrics import OUTBOX_PUBLISHED, OUTBOX_REPUBLISHED
from services.common.sql import upsert_rows

log = structlog.get_logger(__name__)

HEADERS = [("content-type", b"application/cloudevents+json")]
CURSOR_NAME = "relay"


class OutboxRelay(LeadingLoop):
    what = "outbox relay"

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        tables: MessagingTables,
        bootstrap: str,
        topics: Sequence[str],
        batch: int = 1000,
        poll_seconds: float = 0.02,
        idle_poll_seconds: float = 1.0,
        check_seconds: float = 10.0,
        linger_seconds: float = 0.0,
        max_message_bytes: int = 1_048_576,
        client_options: dict | None = None,
        create_topics: bool = True,
    ) -> None:
        # One relay per outbox, however many replicas of the service run (LeadingLoop); the cursor
        # is shared, so a new leader continues where the last stopped.
        super().__init__(
            engine=engine,
            channel=tables.outbox.name,
            lock_key=writer_lock_key(tables.outbox) ^ 0x5EED,
            poll_seconds=poll_seconds,
            idle_poll_seconds=idle_poll_seconds,
            check_seconds=check_seconds,
            linger_seconds=linger_seconds,
        )
        self._max_message_bytes = max_message_bytes
        # Production: SASL_SSL / mutual TLS options for every Kafka client; topics made by operators.
        self._client_options = dict(client_options or {})
        self._create_topics = create_topics
        # The relay's statements stand alone (a read of what is pending; the cursor's upsert, one
        # statement): AUTOCOMMIT sends each as one round trip, without BEGIN and COMMIT or the
        # pool's ROLLBACK: seven round trips a round became two (issue 19; a round follows each
        # commit of a trickle).
        self._alone = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._table = tables.outbox
        self._cursor_table = tables.cursor
        self._cursor: int | None = None
        self._bootstrap = bootstrap
        self._topics = list(topics)
        self._batch = batch
        self._high_water: dict[TopicPartition, int] = {}
        self._partitions: dict[str, list[int]] = {}
        self._partitioner = DefaultPartitioner()
        self._producer: AIOKafkaProducer | None = None
        self._suspect = True  # check the broker before the first send
        self._last_check = 0.0
        self.republished_rounds = 0

    async def _round(self) -> Round:
        if self._producer is None:
            await self._connect()
        now = asyncio.get_running_loop().time()
        if self._suspect or now - self._last_check > self._check_every:
            await self._check_broker()
            self._last_check = now
        published = await self._publish_batch()
        return Round.FULL if published >= self._batch else Round.SOME if published else Round.IDLE

    def _outage(self, exc: BaseException) -> bool:
        return isinstance(exc, KafkaError | OSError | TimeoutError)

    async def _after_outage(self) -> None:
        self._suspect = True
        await self._disconnect()

    def _took_lead(self) -> None:
        self._cursor = None  # another relay may have moved it

    async def _connect(self) -> None:
        self._partitions.clear()
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            **self._client_options,
            linger_ms=5,
            max_batch_size=512 * 1024,
            # KAFKA_MAX_MESSAGE_BYTES: what the system produces is bounded (dead letters' copies
            # are cut to CREDIT_DEAD_LETTER_ORIGINAL_MAX_BYTES), and the broker's limit must allow it.
            max_request_size=self._max_message_bytes,
            acks="all",
            request_timeout_ms=15000,
        )
        await producer.start()
        self._producer = producer

    async def _disconnect(self) -> None:
        if self._producer is not None:
            try:
                await self._producer.stop()
            except Exception:  # noqa: BLE001 - closing a broken client must not mask the cause
                log.debug("outbox relay: error while closing the producer", exc_info=True)
        self._producer = None

    async def _end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        # A fresh client each time: a long-lived consumer was seen here answering with end offsets
        # one round behind what had been produced, which looked like data loss.
        probe = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False, **self._client_options)
        await probe.start()
        try:
            return await probe.end_offsets(partitions)
        finally:
            await probe.stop()

    async def _check_broker(self) -> None:
        if self._create_topics:
            await ensure_topics(self._bootstrap, self._topics, **self._client_options)
        if self._high_water:
            ends = await self._end_offsets(list(self._high_water))
            # A partition we published to that is now empty was lost with the broker. (Comparing the
            # end offset with our last offset is not possible on Tansu 0.6: its ListOffsets answers
            # the last batch's base offset + 1, below the true end after batched produces.) A loss
            # followed by new sends is caught in _publish_batch, where offsets go backwards.
            lost = [tp for tp in self._high_water if ends.get(tp, 0) == 0]
            if lost:
                await self._republish_all(f"partitions we published to are empty: {lost[:3]}")
        self._suspect = False

    async def _republish_all(self, why: str) -> None:
        log.warning("outbox relay: broker lost published events, republishing the outbox", why=why)
        republished = self._cursor or 0
        await self._move_cursor(0)
        self._high_water.clear()
        self.republished_rounds += 1
        OUTBOX_REPUBLISHED.inc(republished)

    async def _load_cursor(self) -> int:
        if self._cursor is None:
            async with self._alone.connect() as conn:
                value = await conn.scalar(
                    select(self._cursor_table.c.seq).where(self._cursor_table.c.name == CURSOR_NAME)
                )
            self._cursor = int(value or 0)
        return self._cursor

    async def _move_cursor(self, seq: int) -> None:
        async with self._alone.connect() as conn:
            await upsert_rows(
                conn,
                self._cursor_table,
                [{"name": CURSOR_NAME, "seq": seq, "updated_at": datetime.now(UTC)}],
                key=["name"],
            )
        self._cursor = seq

    async def _send(self, rows: Sequence[Row[Any, Any, Any, Any]]) -> list[tuple[TopicPartition, int, int]]:
        """Send rows as one record batch per partition (cheaper than a send() per message), keeping
        their order within each partition; partitions chosen by key as the producer itself would.
        Returns (partition, first offset, last offset) of each batch."""
        assert self._producer is not None
        groups: dict[TopicPartition, list] = {}
        for r in rows:
            partitions = self._partitions.get(r.topic)
            if partitions is None:
                partitions = sorted(await self._producer.partitions_for(r.topic))
                self._partitions[r.topic] = partitions
            key = r.key.encode()
            tp = TopicPartition(r.topic, self._partitioner(key, partitions, partitions))
            groups.setdefault(tp, []).append((key, r.payload))
        pending = []
        for tp, items in groups.items():
            batch, count = self._producer.create_batch(), 0
            for key, payload in items:
                if batch.append(key=key, value=payload, timestamp=None, headers=HEADERS) is None:
                    # Full: send it and start the next one (order within the partition is kept).
                    pending.append(
                        (tp, count, await self._producer.send_batch(batch, tp.topic, partition=tp.partition))
                    )
                    batch, count = self._producer.create_batch(), 0
                    if batch.append(key=key, value=payload, timestamp=None, headers=HEADERS) is None:
                        raise ValueError(f"an outbox event of {len(payload)} bytes exceeds the producer's batch size")
                count += 1
            pending.append((tp, count, await self._producer.send_batch(batch, tp.topic, partition=tp.partition)))
        sent = []
        for tp, count, future in pending:
            meta = await future
            sent.append((tp, meta.offset, meta.offset + count - 1))
        return sent

    async def _publish_batch(self) -> int:
        assert self._producer is not None
        t = self._table
        cursor = await self._load_cursor()
        async with self._alone.connect() as conn:
            rows = (
                await conn.execute(
                    select(t.c.seq, t.c.topic, t.c.key, t.c.payload)
                    .where(t.c.seq > cursor)
                    .order_by(t.c.seq)
                    .limit(self._batch)
                )
            ).all()
        if not rows:
            return 0
        for tp, first, last in await self._send(rows):
            previous = self._high_water.get(tp, -1)
            if first <= previous:
                # A send landed at or below an offset we were given before: the broker started empty.
                await self._republish_all(f"offset {first} <= {previous} on {tp}")
                return len(rows)
            self._high_water[tp] = last
        await self._move_cursor(rows[-1].seq)
        OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)
