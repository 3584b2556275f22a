"""Follows `credit.calendar` so this process counts working days on every installed arrangement
without a restart: the installed years are loaded from the database at start, and each
`calendar.installed.v1` is installed as it arrives. Every process must hear every announcement, so
the consumer has no group (no shared offsets) and reads the topic from its start: an announcement
heard twice, or older than the version held, changes nothing (Reckoner.install)."""

from typing import Any

import structlog
from faststream import Context
from faststream.kafka import KafkaRouter
from sqlalchemy.ext.asyncio import AsyncEngine

from services.casework.calendar import arrangement_from_event, load_installed
from services.common.inbound import from_kafka
from services.common.subscribers import raw_decoder
from services.common.topics import CALENDAR, CALENDAR_INSTALLED
from services.common.workdays import RECKONER, Reckoner

log = structlog.get_logger(__name__)


async def load_at_start(engine: AsyncEngine, reckoner: Reckoner = RECKONER) -> list[int]:
    installed = [a.year for a in await load_installed(engine) if reckoner.install(a)]
    log.info("calendar years installed", years=installed)
    return installed


def heard(records: list[Any], reckoner: Reckoner = RECKONER) -> list[int]:
    """Install what the records announce; the years that changed."""
    changed = []
    for item in from_kafka(records):
        env = item.envelope
        if env is None or env.type != CALENDAR_INSTALLED:
            # Not ours to dead-letter: every replica hears it; the producer is casework itself.
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
