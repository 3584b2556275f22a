"""`python -m services.gateway`: the API's one base URL (GATEWAY_HOST/GATEWAY_PORT, default
127.0.0.1:8000)."""

import logging
import os

import uvicorn

from services.common.settings import get_settings


def main() -> None:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per OpenAPI fetch otherwise
    uvicorn.run(
        "services.gateway.app:app",
        host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
        port=int(os.environ.get("GATEWAY_PORT", "8000")),
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        # The gateway is the edge: it appends the real peer to X-Forwarded-For rather than
        # taking a caller's word for its address.
        proxy_headers=False,
        # Responses carry the upstream's own Date and Server; uvicorn's would duplicate them.
        server_header=False,
        date_header=False,
        log_level=settings.log_level.lower(),
        # Load generators and other services keep connections open between requests.
        timeout_keep_alive=30,
        backlog=2048,
    )


if __name__ == "__main__":
    main()
