"""Inputs and results of PeriodicNoticeWorkflow and of its activity `publish_period_notice` on queue
`publication-activities` (the publication service). One pydantic model each (STYLE)."""

from datetime import date
from typing import Literal

from pydantic import BaseModel

Cadence = Literal["monthly", "quarterly"]


class NoticePeriodInput(BaseModel):
    """Input of PeriodicNoticeWorkflow, set by the region's Schedule (policy `notice_cadence`)."""

    region: str
    cadence: Cadence
    # The notice of the period before this day; None: the period before the scheduled time.
    period_before: date | None = None


class NoticeRequest(BaseModel):
    """Input of activity `publish_period_notice`: idempotent on (region, period_start)."""

    region: str
    cadence: Cadence
    period_start: date
    period_end: date


class NoticeResult(BaseModel):
    notice_id: str
    entries: int
    withdrawals: int
    created: bool  # False: the notice of this period had been published already
