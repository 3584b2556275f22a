"""Inputs and results of RecordExpiryWorkflow and its activity `expire_due_records`: one pydantic
model each (STYLE)."""

from datetime import date

from pydantic import BaseModel


class ExpireDueInput(BaseModel):
    as_of: date  # the legal date (Asia/Shanghai) on the workflow clock


class ExpireDueResult(BaseModel):
    expired: int
    next_due: date | None  # the earliest valid_until still in force, if any


class RecordExpiryInput(BaseModel):
    """Durations come in with the input, so tests shorten nothing (STYLE)."""

    max_sleep_seconds: int = 3600
    rounds_before_continue: int = 500
