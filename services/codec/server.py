"""The codec server for Temporal's Web UI (and `temporal` CLI's --codec-endpoint): `POST /decode`
turns the encrypted payloads the UI shows into plain ones, `POST /encode` the reverse (the UI's
"send signal" form), in Temporal's remote-codec JSON shape (`{"payloads": [Payload as proto JSON]}`).

Decrypting shows personal data, so only administrators and finance supervisors may call it, with a
token of the identity provider (the UI passes the operator's own: TEMPORAL_CODEC_PASS_ACCESS_TOKEN).
Browsers call it from the UI's origin: CREDIT_CODEC_CORS_ORIGINS lists the allowed ones.
"""

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.common.v1 import Payloads as PayloadsProto

from services.codec.aesgcm import AesGcmCodec, UnknownKeyError
from services.common.auth import Principal, Role, require_roles
from services.common.problems import Problem
from services.common.service import base_app
from services.common.settings import Settings, get_settings

may_decode = require_roles(Role.ADMINISTRATOR, Role.SUPERVISOR)


def _payloads(body: dict) -> list[Payload]:
    try:
        return list(json_format.ParseDict(body, PayloadsProto(), ignore_unknown_fields=True).payloads)
    except json_format.ParseError as exc:
        raise Problem(400, "invalid_payloads", "Invalid payloads", str(exc)[:300]) from None


def _body(payloads: list[Payload]) -> dict:
    return json_format.MessageToDict(PayloadsProto(payloads=payloads))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    keys = settings.payload_keys()
    if not keys:
        raise SystemExit("the codec server needs CREDIT_PAYLOAD_KEY")
    codec = AesGcmCodec(keys)
    app = base_app("codec", None)
    origins = [o.strip() for o in settings.credit_codec_cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
        )

    router = APIRouter()

    @router.post("/decode", include_in_schema=False)
    async def decode(request: Request, _: Principal = Depends(may_decode)) -> dict:
        try:
            return _body(await codec.decode(_payloads(await request.json())))
        except UnknownKeyError as exc:
            raise Problem(422, "unknown_key", "Unknown payload key", str(exc)) from None

    @router.post("/encode", include_in_schema=False)
    async def encode(request: Request, _: Principal = Depends(may_decode)) -> dict:
        return _body(await codec.encode(_payloads(await request.json())))

    # Also under /codec: the Ingress passes that path through unchanged (deploy/k8s/base/network.yaml).
    app.include_router(router)
    app.include_router(router, prefix="/codec")
    return app
