"""Topic creation: the system creates its topics at start when they are missing (CONTRACT §5)."""

from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from services.common.topics import PARTITIONS


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], partitions: int = PARTITIONS, **client_options: Any
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created. Never called in production
    (KAFKA_CREATE_TOPICS; the topics are KafkaTopic resources there, deploy/k8s)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000, **client_options)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(name=t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass  # another service created it between our list and create
        return missing
    finally:
        await admin.close()
