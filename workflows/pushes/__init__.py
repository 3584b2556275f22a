"""A push to a national platform (PushWorkflow)."""
