"""How long each Kafka consumer's fetch waits for data (issue 19), per consumer group.

The two brokers behave differently. A Kafka broker answers a fetch as soon as data arrives, so a
long `fetch_max_wait_ms` costs no latency and only bounds how often an idle consumer asks. The
local broker (Tansu) holds every fetch for the whole wait even when data arrives (measured on one
hop: 10 ms wait -> p50 13 ms; 500 ms -> p50 242 ms), so there the wait is the latency of the hop,
and a short wait is a request to the broker every few milliseconds while nothing happens.

So the defaults come in two profiles (KAFKA_FETCH_PROFILE; unset: `local` in development, `kafka`
elsewhere): on a real broker every consumer waits 500 ms; locally the consumers on a latency path
wait 50 ms, the ones nobody waits on 500 ms, and the intake path shorter: the intake consumer 25 ms
(a fetch is a request to the broker every 25 ms even while idle, for each of its two consumers; at
20 ms, with the subscribers looking every 20 ms, the idle stack was measured 11 points of a core
higher: bench/README.md "Issue 19"), and the benchmark's reader of its output 10 ms (it runs only
during a benchmark). KAFKA_FETCH_MAX_WAIT_MS, KAFKA_BACKGROUND_FETCH_MAX_WAIT_MS
and KAFKA_FETCH_MAX_WAIT_MS_BY_CONSUMER override the profile's values.

Idle back-off (`local` profile only): a latency consumer that has found nothing for
KAFKA_IDLE_BACKOFF_SECONDS (default 2 s; 0 turns it off) fetches with the background wait until
its first records arrive, which bring it back to its short wait at once (IdleBackoff). The
trade-off: after an idle spell the first event waits up to one background wait per hop (the fetch
in flight when it is written was sent with the long wait, and Tansu holds it to the end); under
steady load nothing changes, since a consumer that finds records never backs off. Background
consumers (replicas, starters of workflows) back off the same way from 500 ms to 2 s: nobody waits
on them, and a dozen of them are most of an idle Tansu's fetches. On the `kafka`
profile nothing changes: every wait there is already the background one, and a real broker
answers as soon as data arrives.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

    from services.common.settings import Settings

# The intake consumer (services/evaluation/intake/handlers.py) and bench.intake's reader of
# credit.records: the path of a report from Kafka to its record.created.v1.
INTAKE = "credit-evaluation"
BENCH_READER = "bench-intake-reader"


@dataclass(frozen=True)
class FetchProfile:
    latency_ms: int  # consumers on a latency path
    background_ms: int  # consumers nobody waits on (replicas, starters of workflows, feeds)
    consumers: Mapping[str, int]  # a consumer's own wait, by group id
    idle_background_ms: int | None = None  # a background consumer's wait after an idle spell
    # `fetch_min_bytes`: the broker answers a fetch once this much is there, or when the wait ends.
    latency_min_bytes: int = 1
    background_min_bytes: int = 1


# Why a minimum: with `fetch_min_bytes` = 1 a broker answers a fetch as soon as one record is
# there, so under a steady trickle (250 events/s) every consumer reads one or two records at a time
# and pays a whole batch for each (its transaction, its offset commit, the broker's fetch): the
# stack used 7–8 ms of CPU per event paced against 1.3 ms in a burst, and as much at 100 events/s
# as at 250 (bench/README.md "Issue 19: batches a trickle makes"). With a minimum above what one
# wait brings, a fetch under a trickle returns once per wait (Tansu and Kafka alike), and in a burst
# at once, since the minimum is then always there. Background consumers: 1 MiB (about 500 record
# events) within their 500 ms wait. Latency consumers keep 1 byte: Tansu holding a fetch for its
# minimum cost it more CPU than the consumers saved at a 25–50 ms wait (measured: 64 KiB made the
# paced p99 worse), and on the `kafka` profile their fetch waits 500 ms.
MIN_BYTES_BACKGROUND = 1024 * 1024
MIN_BYTES_LOCAL_LATENCY = 1

PROFILES: dict[str, FetchProfile] = {
    "kafka": FetchProfile(latency_ms=500, background_ms=500, consumers={}, background_min_bytes=MIN_BYTES_BACKGROUND),
    "local": FetchProfile(
        latency_ms=50,
        background_ms=500,
        consumers={INTAKE: 25, BENCH_READER: 10},
        idle_background_ms=2000,
        latency_min_bytes=MIN_BYTES_LOCAL_LATENCY,
        background_min_bytes=MIN_BYTES_BACKGROUND,
    ),
}

# FastStream's batch subscriber sleeps `batch_timeout_ms` after a getmany that found nothing, and
# only then looks at what its fetcher brought meanwhile: on a real broker (data in the buffer at
# once) a 500 ms timeout would be up to 500 ms of latency. A consumer on a latency path looks at
# least this often; each look is a check of a buffer in memory, not a request to the broker.
LATENCY_POLL_MS = 50


def profile(settings: Settings) -> FetchProfile:
    name = settings.kafka_fetch_profile or ("local" if settings.credit_env == "development" else "kafka")
    return PROFILES[name]


def fetch_wait_ms(settings: Settings, consumer: str, *, background: bool = False) -> int:
    """`fetch_max_wait_ms` of the consumer group `consumer`."""
    if consumer in settings.kafka_fetch_max_wait_ms_by_consumer:
        return settings.kafka_fetch_max_wait_ms_by_consumer[consumer]
    p = profile(settings)
    if background:
        return settings.kafka_background_fetch_max_wait_ms or p.background_ms
    # A wait set for every latency consumer wins over the profile's own for one of them.
    return settings.kafka_fetch_max_wait_ms or p.consumers.get(consumer, p.latency_ms)


def fetch_min_bytes(settings: Settings, consumer: str, *, background: bool = False) -> int:
    """`fetch_min_bytes` of the consumer group `consumer` (KAFKA_FETCH_MIN_BYTES_BY_CONSUMER over
    the profile's value for its kind). The benchmark's reader keeps 1: it measures, nobody pays."""
    if consumer in settings.kafka_fetch_min_bytes_by_consumer:
        return settings.kafka_fetch_min_bytes_by_consumer[consumer]
    if consumer == BENCH_READER:
        return 1
    p = profile(settings)
    return p.background_min_bytes if background else p.latency_min_bytes


def batch_timeout_ms(wait_ms: int, *, background: bool) -> int:
    """How long the subscriber waits for its fetcher before it sleeps as long again (see above)."""
    return wait_ms if background else min(wait_ms, LATENCY_POLL_MS)


def idle_wait_ms(settings: Settings, short_ms: int) -> int | None:
    """The wait an idle consumer whose own wait is `short_ms` backs off to, or None: no back-off
    (`kafka` profile, or back-off turned off). A latency consumer backs off to the background wait;
    a background one (nobody waits on it) to the profile's `idle_background_ms`."""
    p = profile(settings)
    if p is not PROFILES["local"] or settings.kafka_idle_backoff_seconds <= 0:
        return None
    background = settings.kafka_background_fetch_max_wait_ms or p.background_ms
    if short_ms < background:
        return background
    idle = p.idle_background_ms
    return idle if idle is not None and idle > short_ms else None


@dataclass
class IdleBackoff:
    """A consumer's fetch wait after each look at its fetcher: `short_ms` while it finds records,
    `idle_ms` once it has found none for `after_seconds`, `short_ms` again at its first records."""

    short_ms: int
    idle_ms: int
    after_seconds: float
    clock: Callable[[], float] = time.monotonic
    _empty_since: float | None = field(default=None, init=False)

    def wait_after(self, found_records: bool) -> int:
        if found_records:
            self._empty_since = None
            return self.short_ms
        now = self.clock()
        if self._empty_since is None:
            self._empty_since = now
        return self.idle_ms if now - self._empty_since >= self.after_seconds else self.short_ms


def back_off_when_idle(consumer: AIOKafkaConsumer, backoff: IdleBackoff) -> None:
    """Set `consumer`'s fetch wait by `backoff` after each of its getmany calls (FastStream's batch
    subscriber reads only through getmany). aiokafka's Fetcher builds every FetchRequest from its
    `_fetch_max_wait_ms` (aiokafka 0.14, Fetcher._get_actions_per_node), so the next fetch it sends
    carries the new wait."""
    getmany: Callable[..., Awaitable[dict[Any, list[Any]]]] = consumer.getmany

    async def watched(*partitions: Any, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, list[Any]]:
        records = await getmany(*partitions, timeout_ms=timeout_ms, max_records=max_records)
        fetcher = consumer._fetcher
        if fetcher is not None:
            fetcher._fetch_max_wait_ms = backoff.wait_after(bool(records))
        return records

    consumer.getmany = watched
