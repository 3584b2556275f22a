"""How far a service's replica of `credit.records` is behind (issue 23), as Prometheus gauges and
for `/readyz`.

`credit_replica_lag_seconds` is the age of the newest record event the replica has applied (its
CloudEvent `time`, stamped when the evaluation service committed the record) against now. It grows
while nothing new is recorded too, so `credit_replica_apply_delay_seconds` says how late the last
applied batch was when it was applied — an idle replica has a small delay and a growing lag, a
replica behind a burst has both large. Kept per process (one per service here); unknown (absent)
until the first event after a start."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import Gauge

NEWEST = Gauge(
    "credit_replica_newest_event_timestamp_seconds", "Time of the newest record event the replica applied", ["service"]
)
LAG = Gauge("credit_replica_lag_seconds", "Age of the newest record event the replica applied", ["service"])
DELAY = Gauge(
    "credit_replica_apply_delay_seconds", "How late the newest event of the last applied batch was", ["service"]
)


@dataclass
class ReplicaClock:
    service: str
    newest: float | None = None  # unix time of the newest event applied
    applied_at: float | None = None
    delay: float | None = None
    events: int = 0
    _clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        LAG.labels(self.service).set_function(lambda: self.lag() or 0.0)

    def note(self, event_times: list[datetime]) -> None:
        """Call after the transaction that applied events with these times committed."""
        if not event_times:
            return
        now = self._clock()
        newest = max(t.timestamp() for t in event_times)
        self.newest = max(self.newest or newest, newest)
        self.applied_at, self.delay = now, max(0.0, now - newest)
        self.events += len(event_times)
        NEWEST.labels(self.service).set(self.newest)
        DELAY.labels(self.service).set(self.delay)

    def lag(self) -> float | None:
        return None if self.newest is None else max(0.0, self._clock() - self.newest)

    def detail(self) -> dict:
        """For /readyz: None where nothing was applied since the process started."""
        return {
            "lag_seconds": _round(self.lag()),
            "apply_delay_seconds": _round(self.delay),
            "newest_event_at": _iso(self.newest),
            "last_applied_at": _iso(self.applied_at),
            "events_applied": self.events,
        }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()
