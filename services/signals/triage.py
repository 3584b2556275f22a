"""Collusion triage (issue 14): each `collusion.suspected.v1` starts a CollusionTriageWorkflow through
the command outbox (`signals_command`), whose `collusion_triage` task the finance department of the
project's region decides; on `refer` the workflow asks activity `refer_collusion` here, which files
one `SUP-S-08` determination request per chosen supplier (the normal path, requests.py) with the
indicators as its evidence. Its ids come from the triage and the supplier: a retry files once."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from services.common.commands import Command, CommandOutbox, start
from services.common.lawdates import local_date
from services.common.messaging import write_outbox
from services.common.policy import policy_for
from services.common.relay import OutboxRelay
from services.signals.models import COMMANDS, MESSAGING
from services.signals.requests import determination_request
from workflows.activity_names import REFER_COLLUSION
from workflows.collusion_triage.inputs import CollusionReferred, CollusionTriageInput, collusion_workflow_id
from workflows.collusion_triage.workflow import CollusionTriageWorkflow

TRIAGE_START = "signals.collusion_triage"
COLLUSION_CODE = "SUP-S-08"  # Luoyang Art. 10: 视为串通投标
OUTBOX = CommandOutbox(COMMANDS, {})


def triage_start(suspicion: dict, *, now: datetime) -> Command:
    """The start of the triage of one suspicion (`collusion.suspected.v1`'s data). Its due date is the
    region's determination period (`determination_working_days`, a policy value with its source):
    the triage is the first step of a determination."""
    policy = policy_for(suspicion["region"], local_date(now))
    inp = CollusionTriageInput(
        triage_id=suspicion["task_id"],
        region=suspicion["region"],
        project=suspicion["project"],
        suppliers=suspicion["suppliers"],
        indicators=suspicion["indicators"],
        at=now,
        task_due_working_days=policy.determination_working_days,
        reminder_working_days_before=policy.tasks.reminder_working_days_before,
        escalation_working_days_after=policy.tasks.escalation_working_days_after,
    )
    workflow_id = collusion_workflow_id(inp.triage_id)
    return start(TRIAGE_START, inp.triage_id, CollusionTriageWorkflow, workflow_id, inp)


class SignalsActivities:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay) -> None:
        self._engine = engine
        self._relay = relay

    @activity.defn(name=REFER_COLLUSION)
    async def refer_collusion(self, referred: CollusionReferred) -> int:
        """The officer's `refer`: one SUP-S-08 request per chosen supplier, in one transaction."""
        now = datetime.now(UTC)
        events = [
            determination_request(
                key=f"collusion:{referred.triage_id}:{supplier['id']}",
                region=referred.region,
                subject={"type": "supplier", "id": supplier["id"], "name": supplier.get("name") or supplier["id"]},
                code=COLLUSION_CODE,
                occurred_on=referred.occurred_on,
                project=referred.project,
                signal={
                    "rule": "洛阳 Art. 10 (87号令 Art. 37) 视为串通投标",
                    "triage": referred.triage_id,
                    "indicators": referred.indicators,
                    "suppliers": [s["id"] for s in referred.suppliers],
                    "referred_by": referred.decided_by_org,
                    "reason": referred.reason,
                },
                now=now,
            )
            for supplier in referred.suppliers
        ]
        async with self._engine.begin() as conn:
            await write_outbox(conn, MESSAGING.outbox, events)
        self._relay.wake()
        return len(events)
