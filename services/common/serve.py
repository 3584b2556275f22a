"""Running a service's ASGI app under uvicorn on SERVICE_HOST:SERVICE_PORT."""

import gc
import os
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from services.common.logs import configure_logging
from services.common.settings import Settings, get_settings


def serve(app_factory: Callable[[Settings], FastAPI], default_port: int) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.logs_json())
    app: FastAPI = app_factory(settings)
    # Intake allocates many short-lived dicts per batch: with the default thresholds the cyclic
    # collector runs every 700 allocations and walks the long-lived objects of the whole process
    # (modules, catalogue, pools). Freeze what exists now and collect young objects less often.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    uvicorn.run(
        app,
        host=os.environ.get("SERVICE_HOST", "127.0.0.1"),
        port=int(os.environ.get("SERVICE_PORT", str(default_port))),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level.lower(),
    )
