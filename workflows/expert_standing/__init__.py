"""The standing of an assessment expert (ExpertStandingWorkflow)."""
