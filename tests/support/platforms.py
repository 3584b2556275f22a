"""Stand-ins for the national platforms pushes go to: each app served on the stack's port for its
platform (procurement site, credit site, public credit system) for the length of a test."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

import uvicorn
from fastapi import FastAPI

from tests.stack import Stack
from tests.support.poll import eventually


def platform_ports(stack: Stack) -> dict[str, int]:
    return {
        "procurement": stack.procurement_port,
        "credit": stack.credit_port,
        "public_credit": stack.public_credit_port,
    }


async def _started(server: uvicorn.Server) -> bool:
    return server.started


@asynccontextmanager
async def serving(stack: Stack, apps: Mapping[str, FastAPI]) -> AsyncIterator[None]:
    """Serve each platform's app on its port until the block ends."""
    ports = platform_ports(stack)
    running = []
    try:
        for name, app in apps.items():
            uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=ports[name], log_level="warning"))
            running.append((uv, asyncio.create_task(uv.serve())))
            await eventually(partial(_started, uv), until=bool, timeout=10)
        yield
    finally:
        for uv, task in running:
            uv.should_exit = True
            await task
