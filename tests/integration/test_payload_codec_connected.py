"""Personal data in Temporal (issue 18): with CREDIT_PAYLOAD_KEY a workflow's input, signal and
result are stored encrypted — a history read from the dev server without the key shows only
ciphertext — while a client with the key, and the codec server the Web UI calls, show plain data.
A worker and client of its own on the session stack's Temporal (its own task queue): the stack's
processes run without a key, as on a laptop."""

import base64
import os
import uuid

import pytest
from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from services.codec.server import create_app
from services.common import auth
from services.common.auth import mint_token
from services.common.settings import Settings
from services.common.temporal import connect
from tests.stack import Stack
from tests.support.codec_probe import CodecProbeWorkflow

pytestmark = pytest.mark.connected

PERSONAL = {"subject_id": "91350100M000100Y43", "name": "张三", "id_number": "410302199001011234"}
MARKERS = [b"91350100M000100Y43", "张三".encode(), b"410302199001011234", b"officer-note"]


async def test_histories_hold_ciphertext(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(temporal_address=stack.temporal_address, credit_payload_key=key, credit_payload_key_id="t1")
    client = await connect(settings)
    queue = f"codec-probe-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[CodecProbeWorkflow]):
        handle = await client.start_workflow(
            CodecProbeWorkflow.run, PERSONAL, id=f"codec-probe-{uuid.uuid4().hex}", task_queue=queue
        )
        await handle.signal(CodecProbeWorkflow.annotate, "officer-note")
        # With the key, the client reads the plain result.
        assert await handle.result() == {**PERSONAL, "note": "officer-note"}

    # Without the key (what Temporal's database and a UI without the codec server hold).
    raw = await Client.connect(stack.temporal_address)
    history = await raw.get_workflow_handle(handle.id).fetch_history()
    stored = history.to_json().encode()
    for marker in MARKERS:
        assert marker not in stored, marker
    payloads = []
    for e in history.events:
        for attrs in (
            e.workflow_execution_started_event_attributes,
            e.workflow_execution_signaled_event_attributes,
            e.workflow_execution_completed_event_attributes,
        ):
            for field in ("input", "result"):
                if attrs.HasField(field) if field in attrs.DESCRIPTOR.fields_by_name else False:
                    payloads += list(getattr(attrs, field).payloads)
    assert len(payloads) == 3  # input, signal, result
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in payloads)
    assert all(p.metadata["encryption-key-id"] == b"t1" for p in payloads)

    # The codec server, as the Web UI calls it with an administrator's token, shows the plain data.
    monkeypatch.setattr(auth, "get_settings", lambda: settings)
    ui = TestClient(create_app(settings))
    tok = mint_token(sub="op", role="administrator", org="410300", region="410300", secret=settings.credit_jwt_secret)
    r = ui.post(
        "/decode",
        json=json_format.MessageToDict(Payloads(payloads=payloads)),
        headers={"Authorization": f"Bearer {tok}"},
    )
    assert r.status_code == 200, r.text
    decoded = list(json_format.ParseDict(r.json(), Payloads()).payloads)
    values = pydantic_data_converter.payload_converter.from_payloads(decoded)
    assert values == [PERSONAL, "officer-note", {**PERSONAL, "note": "officer-note"}]
