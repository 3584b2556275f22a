"""The signed checkpoints of the append-only ledger (LedgerCheckpointWorkflow)."""
