"""What the evaluation service owes the expert-standing workflows (001 Art. 25), written to its
command outbox (services.common.commands) in the transaction of the consumer that read the cause:
each change of an expert's record and each completed training is a signal-with-start of the
expert's workflow (id `expert:{id}`, started on first use under the expert policy of its region as
of the day the cause was read). The workflow ignores a repeated signal, so a command delivered
twice changes nothing."""

from datetime import UTC, datetime

from pydantic import BaseModel

from services.common.commands import Command, CommandOutbox, start
from services.common.lawdates import local_date
from services.common.policy import policy_for
from services.evaluation.models import COMMANDS
from workflows.expert_standing.inputs import ExpertStandingInput
from workflows.expert_standing.workflow import ExpertStandingWorkflow, expert_workflow_id

RECORD_CHANGED = "expert.record_changed"
TRAINING_COMPLETED = "expert.training_completed"
# The workflow's signal handlers (their method names are the signal names).
RECORD_SIGNAL = ExpertStandingWorkflow.record_changed.__name__
TRAINING_SIGNAL = ExpertStandingWorkflow.training_completed.__name__
_SIGNALS = {RECORD_CHANGED: RECORD_SIGNAL, TRAINING_COMPLETED: TRAINING_SIGNAL}


def standing_command(purpose: str, ref: str, expert_id: str, name: str, region: str, arg: BaseModel) -> Command:
    """Signal-with-start of the expert's workflow; `ref` is the inbound event (`source|id`)."""
    rules = policy_for(region, local_date(datetime.now(UTC))).expert
    inp = ExpertStandingInput(
        expert_id=expert_id,
        expert_name=name,
        region=region,
        suspension_months=rules.general_suspension_months,
        score=rules.score,
    )
    workflow_id = expert_workflow_id(expert_id)
    return start(purpose, ref, ExpertStandingWorkflow, workflow_id, inp, signal=_SIGNALS[purpose], arg=arg)


# Delivered as written: no purpose needs a hook.
OUTBOX = CommandOutbox(COMMANDS)
