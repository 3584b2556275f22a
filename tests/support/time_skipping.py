"""A time-skipping Temporal test server of its own (its clock starts at today's), with the
project's pydantic data converter."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from deploy.local.components import temporal_test_server_path


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server_path()), data_converter=pydantic_data_converter
    )
    try:
        yield env
    finally:
        await env.shutdown()
