"""A procurement step intercepted before it should have happened (InterceptionWorkflow)."""
