"""The periodic public notice of a region (PeriodicNoticeWorkflow)."""
