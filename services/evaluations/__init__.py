"""Evaluations that drive supervision (issue 15): agency points, the purchasers' performance
assessment (Shenyang 000 §三.1), grades and the grade-weighted inspection draw (Xuchang 004 item 28).

A package of its own, not inside `services/evaluation`: that service owns the records (their intake,
ledger and determinations); this one only reads records and the watch service's figures and turns
them into periodic scores, so it can be run, scaled and migrated without touching the record owner.
It holds the policy data (`policy.py`, `policies/`), the pure scoring (`scoring.py`, `grades.py`,
`draw.py`), the figures fetched from the watch and counted from its replica of `credit.records`
(`collect.py`, `records.py`), supplier grades (`supplier_grades.py`), the HTTP API and the yearly
runs' activities and schedules."""
