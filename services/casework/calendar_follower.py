"""Casework follows `credit.calendar` like every process that counts working days
(services/common/calendar_follower.py); being the calendar's owner it also loads the installed years
from its database at start, before the topic is read."""

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.casework.calendar import load_installed
from services.common.calendar_follower import build_follower, heard
from services.common.workdays import RECKONER, Reckoner

__all__ = ["build_follower", "heard", "load_at_start"]
log = structlog.get_logger(__name__)


async def load_at_start(engine: AsyncEngine, reckoner: Reckoner = RECKONER) -> list[int]:
    installed = [a.year for a in await load_installed(engine) if reckoner.install(a)]
    log.info("calendar years installed", years=installed)
    return installed
