"""The AES-GCM payload codec and its codec server (issue 18)."""

import asyncio
import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.contrib.pydantic import pydantic_data_converter

from services.codec.aesgcm import AesGcmCodec, UnknownKeyError
from services.codec.server import create_app
from services.common import auth
from services.common.auth import mint_token
from services.common.settings import Settings
from services.common.temporal import data_converter

K1, K2 = os.urandom(32), os.urandom(32)
SECRET = "unit-test-secret-0123456789abcdef-0123456789"
PERSONAL = {"subject_id": "91350100M000100Y43", "name": "张三", "id_number": "410302199001011234"}


async def test_round_trip_hides_the_data() -> None:
    codec = AesGcmCodec({"k1": K1})
    plain = pydantic_data_converter.payload_converter.to_payloads([PERSONAL])
    sealed = await codec.encode(plain)
    assert sealed[0].metadata["encoding"] == b"binary/encrypted"
    assert b"91350100M000100Y43" not in sealed[0].data and "张三".encode() not in sealed[0].data
    assert await codec.decode(sealed) == plain
    # Two encodings of the same value differ (a fresh nonce each time).
    assert (await codec.encode(plain))[0].data != sealed[0].data


async def test_rotation_keeps_old_histories_readable() -> None:
    old = await AesGcmCodec({"k1": K1}).encode(pydantic_data_converter.payload_converter.to_payloads([PERSONAL]))
    rotated = AesGcmCodec({"k2": K2, "k1": K1})
    assert rotated.current_key_id == "k2"
    assert pydantic_data_converter.payload_converter.from_payloads(await rotated.decode(old))[0] == PERSONAL
    fresh = await rotated.encode(await rotated.decode(old))
    assert fresh[0].metadata["encryption-key-id"] == b"k2"
    # Once k1 is dropped, what only k1 sealed cannot be read: refused by name, never guessed.
    with pytest.raises(UnknownKeyError):
        await AesGcmCodec({"k2": K2}).decode(old)


async def test_tampering_detected() -> None:
    codec = AesGcmCodec({"k1": K1, "k2": K1})
    sealed = (await codec.encode(pydantic_data_converter.payload_converter.to_payloads([PERSONAL])))[0]
    flipped = type(sealed)()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(InvalidTag):
        await codec.decode([flipped])
    # The key id is authenticated: the same bytes under another id (same key even) are refused.
    moved = type(sealed)()
    moved.CopyFrom(sealed)
    moved.metadata["encryption-key-id"] = b"k2"
    with pytest.raises(InvalidTag):
        await codec.decode([moved])


async def test_plain_payloads_pass_through() -> None:
    plain = pydantic_data_converter.payload_converter.to_payloads([PERSONAL])
    assert await AesGcmCodec({"k1": K1}).decode(plain) == plain


def test_converter_follows_the_settings() -> None:
    assert data_converter(Settings()) is pydantic_data_converter
    converter = data_converter(Settings(credit_payload_key=base64.b64encode(K1).decode()))
    assert isinstance(converter.payload_codec, AesGcmCodec)


def test_codec_server(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(credit_jwt_secret=SECRET, credit_payload_key=base64.b64encode(K1).decode())
    monkeypatch.setattr(auth, "get_settings", lambda: settings)
    client = TestClient(create_app(settings))
    codec = AesGcmCodec({"k1": K1})

    sealed = asyncio.run(codec.encode(pydantic_data_converter.payload_converter.to_payloads([PERSONAL])))
    body = json_format.MessageToDict(Payloads(payloads=sealed))

    def headers(role: str) -> dict:
        tok = mint_token(sub="op", role=role, org="410300", region="410300", secret=SECRET)
        return {"Authorization": f"Bearer {tok}"}

    assert client.post("/decode", json=body).status_code == 401
    assert client.post("/decode", json=body, headers=headers("finance_officer")).status_code == 403
    r = client.post("/decode", json=body, headers=headers("administrator"))
    assert r.status_code == 200, r.text
    decoded = json_format.ParseDict(r.json(), Payloads()).payloads
    assert pydantic_data_converter.payload_converter.from_payloads(list(decoded))[0] == PERSONAL
    assert client.post("/codec/decode", json=body, headers=headers("administrator")).json() == r.json()
    again = client.post("/encode", json=r.json(), headers=headers("supervisor"))
    assert again.status_code == 200
    assert json_format.ParseDict(again.json(), Payloads()).payloads[0].metadata["encoding"] == b"binary/encrypted"
    assert client.post("/decode", json={"payloads": "nope"}, headers=headers("administrator")).status_code == 400
