"""Prometheus metrics shared by the services (served at /metrics by each service)."""

from prometheus_client import Counter, Gauge, Histogram

# Counters move where the event happens; gauges read from the database are sampled by
# services/common/measures.py. Every name is in deploy/k8s/monitoring (alerts, dashboard).

OUTBOX_PUBLISHED = Counter("credit_outbox_published_total", "Events the outbox relay published")
OUTBOX_REPUBLISHED = Counter("credit_outbox_republished_total", "Outbox rows republished after the broker lost data")
EVENTS_CONSUMED = Counter("credit_events_consumed_total", "Inbound events handled", ["service", "outcome"])
BATCH_SECONDS = Histogram("credit_batch_seconds", "Time to handle one consumed batch", ["service"])
CALENDAR_PROVISIONAL = Gauge(
    "credit_calendar_provisional", "1 while the year's working days are counted on the provisional calendar", ["year"]
)
EVENTS_RECEIVED = Counter("credit_events_received_total", "Inbound events read from Kafka", ["service"])
DEAD_LETTERED = Counter(
    "credit_events_dead_lettered_total", "Inputs refused to credit.dead-letter, by reason", ["service", "reason"]
)
HTTP_SECONDS = Histogram(
    "credit_http_request_seconds",
    "HTTP request latency by route template",
    ["service", "method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("credit_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("credit_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"])
TASKS = Gauge("credit_tasks", "Open tasks (open, overdue, escalated) by kind and region", ["kind", "region", "state"])
PUSHES = Gauge("credit_pushes", "Pushes to the national platforms by platform and state", ["platform", "state"])
COMMANDS_PENDING = Gauge("credit_commands_pending", "Temporal commands not yet delivered", ["service"])
COMMANDS_OLDEST_AGE = Gauge(
    "credit_commands_oldest_age_seconds", "Age of the oldest Temporal command not yet delivered", ["service"]
)
COMMANDS_DELIVERED = Counter(
    "credit_commands_delivered_total", "Temporal commands delivered (or settled by their route)", ["service", "purpose"]
)
COMMANDS_RETRIED = Counter(
    "credit_commands_retried_total", "Temporal command attempts that failed", ["service", "purpose"]
)
COMMANDS_FAILED = Counter(
    "credit_commands_failed_total", "Temporal commands given up (state failed, with a reason)", ["service", "purpose"]
)
PUSHES_FAILED = Counter("credit_push_failures_total", "Push attempts that failed", ["platform"])
CHECKPOINT_AGE = Gauge("credit_ledger_checkpoint_age_seconds", "Age of the newest signed ledger checkpoint")
CALENDAR_NEXT_YEAR_OFFICIAL = Gauge(
    "credit_calendar_next_year_official", "1 when next year's holiday arrangement is official (installed)"
)
