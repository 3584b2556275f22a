"""Collusion triage (issue 14): the finance department decides on a `collusion.suspected.v1`."""
