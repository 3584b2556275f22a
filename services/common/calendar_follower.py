"""Following `credit.calendar` in any process that counts working days (casework, the watch): each
`calendar.installed.v1` is installed into the process's reckoner as it arrives, so working days are
counted on every installed arrangement without a restart. Every process must hear every
announcement, so the consumer has no group (no shared offsets) and reads the topic from its start:
an announcement heard twice, or older than the version held, changes nothing (Reckoner.install).

What a service re-plans when a year becomes official (casework's open tasks, the watch's running
clocks, the appeals' review due dates) is its own consumer with a group; `install_announced`,
`counted_through` and `replan_reason` are what those consumers share."""

from datetime import date
from typing import Any

import structlog
from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.arrangements import Arrangement
from services.common.frame import Rejected
from services.common.inbound import from_kafka
from services.common.subscribers import raw_decoder
from services.common.topics import CALENDAR, CALENDAR_INSTALLED
from services.common.workdays import RECKONER, Reckoner

log = structlog.get_logger(__name__)


def arrangement_from_event(data: dict) -> Arrangement:
    """What a follower installs from `calendar.installed.v1` (KeyError/ValueError when malformed)."""
    return Arrangement(
        year=int(data["year"]),
        holidays=frozenset(date.fromisoformat(d) for d in data["holidays"]),
        workdays=frozenset(date.fromisoformat(d) for d in data["workdays"]),
        source=str(data["source"]),
        status="official",
        version=int(data["version"]),
        notice=data.get("notice"),
    )


def replan_reason(data: dict) -> str:
    """Why dates are counted again: the arrangement installed, its version, notice and installer."""
    notice = data.get("notice") or {}
    return (
        f"holiday arrangement of {int(data['year'])} installed (version {data.get('version')}, "
        f"{notice.get('number', 'no notice')}, by {data.get('installed_by')})"
    )


def counted_through(first: date, last: date, year: int) -> bool:
    """Whether dates counted from `first` to `last` passed through `year`: what a re-planner asks of
    each running deadline when that year's arrangement is installed."""
    return first.year <= year <= last.year


def install_announced(data: dict, reckoner: Reckoner = RECKONER) -> tuple[Arrangement, str] | Rejected:
    """For a re-planner (one group per service, so possibly ahead of this process's follower): the
    announced arrangement installed here first (twice changes nothing), and why dates move; a
    malformed announcement is refused `invalid_data`."""
    try:
        arrangement = arrangement_from_event(data)
    except (KeyError, TypeError, ValueError) as exc:
        return Rejected("invalid_data", f"not an arrangement: {exc!r}"[:300])
    reckoner.install(arrangement)
    return arrangement, replan_reason(data)


def heard(records: list[Any], reckoner: Reckoner = RECKONER) -> list[int]:
    """Install what the records announce; the years that changed."""
    changed = []
    for item in from_kafka(records):
        env = item.envelope
        if env is None or env.type != CALENDAR_INSTALLED:
            # Not ours to dead-letter: every replica hears it; the producer is casework.
            log.warning("calendar message ignored", reason=item.reason or "unknown_type", type=env and env.type)
            continue
        try:
            arrangement = arrangement_from_event(env.data)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("calendar announcement malformed", id=env.id, error=repr(exc))
            continue
        if reckoner.install(arrangement):
            changed.append(arrangement.year)
            log.info("calendar installed", year=arrangement.year, version=arrangement.version)
    return changed


def build_follower() -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(CALENDAR, auto_offset_reset="earliest", decoder=raw_decoder, title="calendar follower")
    async def on_calendar(body: Any, message: Any = Context("message")) -> None:
        heard([message.raw_message])

    return router
