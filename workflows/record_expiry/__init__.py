"""The sweep that expires records whose term is over (RecordExpiryWorkflow)."""
