"""The evaluation process: HTTP API, Kafka consumers, outbox relay, the relay of its Temporal
commands (experts/commands.py) and the Temporal activity worker on one event loop (STYLE: one
process per service)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from services.common.activity_failures import activity_worker
from services.common.lawdates import local_date
from services.common.policy import policy_for
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import EVALUATION_ACTIVITIES
from services.evaluation.activities import EvaluationActivities
from services.evaluation.api import router
from services.evaluation.experts.activities import ExpertActivities
from services.evaluation.experts.commands import OUTBOX
from services.evaluation.experts.handlers import build_router as build_expert_router
from services.evaluation.intake.handlers import build_router
from services.evaluation.ledger.api import router as ledger_router
from services.evaluation.ledger.checkpoints import Signer
from services.evaluation.models import MESSAGING, MIGRATIONS, TABLES
from services.evaluation.records.activities import RecordChangeActivities
from services.evaluation.records.archive_api import router as archive_router
from services.evaluation.records.evidence_access import router as access_router
from services.evaluation.records.internal_api import router as internal_router


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if with_temporal:
            yield "temporal-worker", lambda: _run_worker(rt, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            name="evaluation",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            commands=OUTBOX,
            routers=lambda rt: [
                build_router(rt, settings),
                build_expert_router(rt, settings),
            ],
            background=background,
        ) as rt:
            app.state.runtime = rt
            app.state.ledger_public_key = Signer(settings.credit_ledger_signing_seed).public_key
            yield

    app = base_app("evaluation", lifespan)
    app.include_router(router)
    app.include_router(archive_router)
    app.include_router(ledger_router)
    app.include_router(access_router)
    app.include_router(internal_router)
    return app


async def _run_worker(rt: Runtime, settings: Settings) -> None:
    acts = EvaluationActivities(rt.engine, rt.relay, Signer(settings.credit_ledger_signing_seed))
    experts = ExpertActivities(rt.engine, employer_url=employer_url(settings), relay=rt.relay)
    changes = RecordChangeActivities(rt.engine, rt.relay)
    activities = [
        acts.expire_due_records,
        acts.publish_ledger_checkpoint,
        experts.publish_expert_standing,
        experts.notify_employer,
        *changes.all(),
    ]
    worker = activity_worker(await rt.client(), task_queue=EVALUATION_ACTIVITIES, activities=activities)
    await worker.run()


def employer_url(settings: Settings) -> str | None:
    policy = policy_for(settings.credit_policy_region, local_date(datetime.now(UTC)))
    return settings.credit_employer_notification_url or policy.expert.employer_notification_url
