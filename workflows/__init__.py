"""The Temporal workflows, one package per process: `<process>/workflow.py` (the workflow, its type
name never changes: saved histories replay by it), `<process>/inputs.py` (its input, signals and
results, and those of its activities) and, beside them, the pure rules the workflow applies
(`repair/rules.py`). Shared by several: `activity_names.py` (the activity types on the wire) and
`record_inputs.py` (the evaluation service's record changes). `worker.py` runs them all.
Workflows import from `services.common` only, never from a service (no folder loop)."""
