"""The activity types the workflows call, by the name each is registered under (`@activity.defn`)
in the service that runs it. These names are on the wire and in every saved history: never change
one (tests/workflows/test_replay.py replays the histories by them). A workflow, the service's
activity and a test's stand-in all take the name from here."""

# evaluation-activities: the record's changes (services/evaluation/record_activities.py)
GET_RECORD_FACTS = "get_record_facts"
REPAIR_RECORD = "repair_record"
MARK_APPEALED = "mark_appealed"
UPHOLD_RECORD = "uphold_record"
CORRECT_RECORD = "correct_record"
APPLY_DETERMINATION = "apply_determination"
NOTE_INTENDED_DETERMINATION = "note_intended_determination"
# evaluation-activities: sweeps and experts (activities.py, expert_activities.py)
EXPIRE_DUE_RECORDS = "expire_due_records"
PUBLISH_LEDGER_CHECKPOINT = "publish_ledger_checkpoint"
PUBLISH_EXPERT_STANDING = "publish_expert_standing"
NOTIFY_EMPLOYER = "notify_employer"
# casework-activities (services/casework/activities.py)
OPEN_TASK = "open_task"
REPLAN_TASK = "replan_task"
ESCALATE_TASK = "escalate_task"
CANCEL_TASK = "cancel_task"
CLOSE_STATEMENT_WINDOW = "close_statement_window"
# repair-activities (services/repair/activities.py)
PUBLISH_REPAIR_WINDOW = "publish_repair_window"
CHANGE_APPLICATION = "change_application"
# appeal-activities (services/appeal/activities.py)
RECORD_APPEAL_CHANGE = "record_appeal_change"
# publication-activities (services/publication/activities.py)
PUBLISH_PERIOD_NOTICE = "publish_period_notice"
DELIVER_PUSH = "deliver_push"
ESCALATE_PUSH = "escalate_push"
SETTLE_PUSH = "settle_push"
