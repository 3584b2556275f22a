"""The credit repair of a record (RecordRepairWorkflow) and the pure rules it applies (rules.py)."""
