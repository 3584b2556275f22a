"""Temporal client and the task queues of the system."""

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
