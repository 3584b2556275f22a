"""An activity that refuses its input every time is given up after a bounded number of attempts,
visibly (issue 21, point 2): the workflow, which retries activities without a limit, fails with a
`processing_failed` cause instead of retrying forever; an outage is still retried."""

import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    import asyncpg
    import httpx

    from services.common.activity_failures import BoundedActivityFailures

CALLS: dict[str, int] = {}


@activity.defn
async def store(kind: str) -> str:
    CALLS[kind] = CALLS.get(kind, 0) + 1
    if kind == "refused":
        raise asyncpg.exceptions.CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8": 0x00')
    if kind == "outage" and CALLS[kind] < 4:
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    return "stored"


@workflow.defn
class StoreWorkflow:
    @workflow.run
    async def run(self, kind: str) -> str:
        # As the project's workflows do: no maximum of attempts.
        return await workflow.execute_activity(
            store,
            kind,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)),
        )


async def _run(env: WorkflowEnvironment, kind: str) -> str:
    queue = f"q-{uuid.uuid4()}"
    interceptors = [BoundedActivityFailures(attempts=3)]
    async with Worker(
        env.client, task_queue=queue, workflows=[StoreWorkflow], activities=[store], interceptors=interceptors
    ):
        return await env.client.execute_workflow(StoreWorkflow.run, kind, id=f"wf-{uuid.uuid4()}", task_queue=queue)


async def test_refused_every_time_fails_the_workflow_after_three_attempts(time_skipping: WorkflowEnvironment) -> None:
    CALLS.clear()
    with pytest.raises(WorkflowFailureError) as info:
        await _run(time_skipping, "refused")
    cause = info.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == "processing_failed" and cause.cause.non_retryable
    assert "CharacterNotInRepertoireError" in cause.cause.message
    assert CALLS["refused"] == 3


async def test_an_outage_is_retried_beyond_the_bound(time_skipping: WorkflowEnvironment) -> None:
    CALLS.clear()
    assert await _run(time_skipping, "outage") == "stored"
    assert CALLS["outage"] == 4


def test_unreachable_platform_or_temporal_is_an_outage() -> None:
    from temporalio.service import RPCError, RPCStatusCode

    from services.common.activity_failures import _outage

    assert _outage(httpx.ConnectError("refused"))
    assert _outage(RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""))
    assert not _outage(KeyError("x"))
