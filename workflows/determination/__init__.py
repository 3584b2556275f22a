"""The determination of a serious code reported by a purchaser or agency (DeterminationWorkflow)."""
