"""Prometheus metrics shared by the services (served at /metrics by each service)."""

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PUBLISHED = Counter("credit_outbox_published_total", "Events the outbox relay published")
OUTBOX_REPUBLISHED = Counter("credit_outbox_republished_total", "Outbox rows republished after the broker lost data")
EVENTS_CONSUMED = Counter("credit_events_consumed_total", "Inbound events handled", ["service", "outcome"])
BATCH_SECONDS = Histogram("credit_batch_seconds", "Time to handle one consumed batch", ["service"])
CALENDAR_PROVISIONAL = Gauge(
    "credit_calendar_provisional", "1 while the year's working days are counted on the provisional calendar", ["year"]
)
