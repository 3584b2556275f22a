"""Kafka topic names and CloudEvents types of CONTRACT §1. Names here are fixed by the contract."""

from typing import Final

TYPE_PREFIX: Final = "cn.gov.procurement.credit."

# Inbound, produced by outside systems.
INBOUND_BEHAVIOUR: Final = "credit.inbound.behaviour"
INBOUND_PROCUREMENT: Final = "credit.inbound.procurement"
INBOUND_APPLICATIONS: Final = "credit.inbound.applications"

# Outbound, produced by the credit system.
RECORDS: Final = "credit.records"
SUBJECTS: Final = "credit.subjects"
EXPERTS: Final = "credit.experts"
NOTICES: Final = "credit.notices"
WARNINGS: Final = "credit.warnings"
TASKS: Final = "credit.tasks"
DEAD_LETTER: Final = "credit.dead-letter"
# Added to the contract: where repair applications and appeals stand (the subject and portals follow them).
APPLICATIONS: Final = "credit.applications"
# Added: the official holiday arrangements installed at run time (every process counting working
# days follows it, so none needs a restart).
CALENDAR: Final = "credit.calendar"
# Added (issue 17): how each push to a national platform ended (delivered or failed), for the
# statistics (services/common/contracts/pushes.py says why a topic of its own).
PUSHES: Final = "credit.pushes"

INBOUND_TOPICS: Final = (INBOUND_BEHAVIOUR, INBOUND_PROCUREMENT, INBOUND_APPLICATIONS)
OUTBOUND_TOPICS: Final = (
    RECORDS,
    SUBJECTS,
    EXPERTS,
    NOTICES,
    WARNINGS,
    TASKS,
    DEAD_LETTER,
    APPLICATIONS,
    CALENDAR,
    PUSHES,
)
ALL_TOPICS: Final = INBOUND_TOPICS + OUTBOUND_TOPICS

# Partitions per topic when the system creates it. Keys are subject ids, so order per subject holds
# with any count. 4 because the local broker (Tansu) creates a missing topic with 4 partitions as
# soon as any client asks for its metadata — after a broker restart the consumers ask before anyone
# can create it — and with another count here a consumer group assigned by stale metadata left the
# 4th partition to nobody until its metadata refresh (5 minutes; seen in the fault tests).
PARTITIONS: Final = 4


def event_type(short: str) -> str:
    """`record.created.v1` -> `cn.gov.procurement.credit.record.created.v1`."""
    return TYPE_PREFIX + short


BEHAVIOUR_REPORTED: Final = event_type("behaviour.reported.v1")
MISCONDUCT_DETERMINED: Final = event_type("misconduct.determined.v1")
RECORD_CREATED: Final = event_type("record.created.v1")
RECORD_APPEALED: Final = event_type("record.appealed.v1")
RECORD_CORRECTED: Final = event_type("record.corrected.v1")
RECORD_UPHELD: Final = event_type("record.upheld.v1")
RECORD_REPAIRED: Final = event_type("record.repaired.v1")
RECORD_EXPIRED: Final = event_type("record.expired.v1")
SUBJECT_STATUS_CHANGED: Final = event_type("subject.status.changed.v1")
TASK_CREATED: Final = event_type("task.created.v1")
TASK_ESCALATED: Final = event_type("task.escalated.v1")
TASK_COMPLETED: Final = event_type("task.completed.v1")
EVENT_REJECTED: Final = event_type("event.rejected.v1")
NOTICE_PUBLISHED: Final = event_type("notice.published.v1")
REPAIR_REQUESTED: Final = event_type("repair.requested.v1")
APPEAL_FILED: Final = event_type("appeal.filed.v1")
# Added types: a reported serious behaviour waits for a finance department (evaluation -> casework,
# on credit.tasks); repair windows and the state of repair applications and appeals (credit.applications).
DETERMINATION_REQUESTED: Final = event_type("determination.requested.v1")
REPAIR_OPENED: Final = event_type("repair.opened.v1")
REPAIR_CHANGED: Final = event_type("repair.changed.v1")
APPEAL_CHANGED: Final = event_type("appeal.changed.v1")
CALENDAR_INSTALLED: Final = event_type("calendar.installed.v1")
# Added: a task's due date or alarms moved (never earlier) when a year's arrangement was installed.
TASK_REPLANNED: Final = event_type("task.replanned.v1")
# Added (issue 16 point 5, 国办发〔2020〕49号 (八)): the notice to a subject of an intended serious
# determination — reasons, basis and its right to state its case — before it is listed (casework, credit.tasks).
DETERMINATION_INTENDED: Final = event_type("determination.intended.v1")
# Every other type of CONTRACT v1.1 and of the code (the models are in services/common/contracts/,
# whose registry a unit test holds equal to the constants here).
EXPERT_SUSPENDED: Final = event_type("expert.suspended.v1")
EXPERT_REINSTATED: Final = event_type("expert.reinstated.v1")
EXPERT_REMOVED: Final = event_type("expert.removed.v1")
TRAINING_COMPLETED: Final = event_type("expert.training.completed.v1")
COMMITMENT_MADE: Final = event_type("commitment.made.v1")
COMMITMENT_BREACHED: Final = event_type("commitment.breached.v1")
LEDGER_CHECKPOINT_PUBLISHED: Final = event_type("ledger.checkpoint.published.v1")
# Issue 17: a region's annual credit report, published after a supervisor's review.
REPORT_PUBLISHED: Final = event_type("report.published.v1")
AWARD_NOTIFIED: Final = event_type("award.notified.v1")
CONTRACT_SIGNED: Final = event_type("contract.signed.v1")
CONTRACT_PUBLISHED: Final = event_type("contract.published.v1")
CONTRACT_FILED: Final = event_type("contract.filed.v1")
ACCEPTANCE_REQUESTED: Final = event_type("acceptance.requested.v1")
ACCEPTANCE_COMPLETED: Final = event_type("acceptance.completed.v1")
INVOICE_RECEIVED: Final = event_type("invoice.received.v1")
PAYMENT_MADE: Final = event_type("payment.made.v1")
BID_SUBMITTED: Final = event_type("bid.submitted.v1")
COMPLAINT_DECIDED: Final = event_type("complaint.decided.v1")
DEADLINE_WARNING: Final = event_type("deadline.warning.v1")
COLLUSION_SUSPECTED: Final = event_type("collusion.suspected.v1")
INTERCEPTION_RAISED: Final = event_type("interception.raised.v1")
# Added (issue 15): a yearly evaluation or assessment published after the officer's review.
EVALUATION_PUBLISHED: Final = event_type("evaluation.published.v1")
# Added (issue 17): the final outcome of a push to a national platform (credit.pushes).
PUSH_DELIVERED: Final = event_type("push.delivered.v1")
PUSH_FAILED: Final = event_type("push.failed.v1")
