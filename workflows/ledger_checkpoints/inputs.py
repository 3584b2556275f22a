"""Inputs and results of LedgerCheckpointWorkflow and its activity `publish_ledger_checkpoint`: one
pydantic model each (STYLE)."""

from pydantic import BaseModel


class LedgerCheckpointInput(BaseModel):
    interval_seconds: int = 600
    rounds_before_continue: int = 500


class CheckpointResult(BaseModel):
    tree_size: int | None  # None: nothing appended since the last checkpoint
