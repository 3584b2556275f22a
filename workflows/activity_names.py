"""The activity types the workflows call, by the name each is registered under (`@activity.defn`)
in the service that runs it. These names are on the wire and in every saved history: never change
one (tests/workflows/test_replay.py replays the histories by them). A workflow, the service's
activity and a test's stand-in all take the name from here."""

from typing import Final

# evaluation-activities: the record's changes (services/evaluation/records/activities.py)
GET_RECORD_FACTS: Final = "get_record_facts"
REPAIR_RECORD: Final = "repair_record"
MARK_APPEALED: Final = "mark_appealed"
UPHOLD_RECORD: Final = "uphold_record"
CORRECT_RECORD: Final = "correct_record"
APPLY_DETERMINATION: Final = "apply_determination"
NOTE_INTENDED_DETERMINATION: Final = "note_intended_determination"
# evaluation-activities: sweeps and experts (activities.py, experts/activities.py)
EXPIRE_DUE_RECORDS: Final = "expire_due_records"
PUBLISH_LEDGER_CHECKPOINT: Final = "publish_ledger_checkpoint"
PUBLISH_EXPERT_STANDING: Final = "publish_expert_standing"
NOTIFY_EMPLOYER: Final = "notify_employer"
# casework-activities (services/casework/activities.py)
OPEN_TASK: Final = "open_task"
REPLAN_TASK: Final = "replan_task"
ESCALATE_TASK: Final = "escalate_task"
CANCEL_TASK: Final = "cancel_task"
CLOSE_STATEMENT_WINDOW: Final = "close_statement_window"
# repair-activities (services/repair/activities.py)
PUBLISH_REPAIR_WINDOW: Final = "publish_repair_window"
CHANGE_APPLICATION: Final = "change_application"
# appeal-activities (services/appeal/activities.py)
RECORD_APPEAL_CHANGE: Final = "record_appeal_change"
# publication-activities (services/publication/activities.py)
PUBLISH_PERIOD_NOTICE: Final = "publish_period_notice"
DELIVER_PUSH: Final = "deliver_push"
ESCALATE_PUSH: Final = "escalate_push"
SETTLE_PUSH: Final = "settle_push"
# watch-activities (services/watch/activities.py)
RAISE_WARNING: Final = "raise_warning"
DELIVER_NOTICES: Final = "deliver_notices"
REPORT_OVERDUE_BEHAVIOUR: Final = "report_overdue_behaviour"
SETTLE_CLOCK: Final = "settle_clock"
REPORT_INTERCEPTED_BEHAVIOUR: Final = "report_intercepted_behaviour"
# signals-activities (services/signals/triage.py)
REFER_COLLUSION: Final = "refer_collusion"
# evaluations-activities (services/evaluations/activities.py)
COLLECT_FIGURES: Final = "collect_figures"
DRAFT_EVALUATIONS: Final = "draft_evaluations"
PUBLISH_EVALUATIONS: Final = "publish_evaluations"
# statistics-activities (services/statistics/reports.py)
MAKE_ANNUAL_REPORT: Final = "make_annual_report"
SETTLE_ANNUAL_REPORT: Final = "settle_annual_report"
