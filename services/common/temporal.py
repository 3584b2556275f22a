"""Temporal client and the task queues of the system."""

import asyncio

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.common.settings import Settings

WORKFLOW_QUEUE = "credit-workflows"
EVALUATION_ACTIVITIES = "evaluation-activities"
CASEWORK_ACTIVITIES = "casework-activities"
REPAIR_ACTIVITIES = "repair-activities"
APPEAL_ACTIVITIES = "appeal-activities"
PUBLICATION_ACTIVITIES = "publication-activities"


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


class LazyClient:
    """The process's Temporal client, connected on first use: a service starts (and serves HTTP and
    Kafka) even while Temporal is not up yet, and concurrent first callers share one connection."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await connect(self._settings)
            return self._client
