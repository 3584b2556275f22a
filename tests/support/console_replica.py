"""Another console replica in its own process (tests/unit/test_console_forms.py): builds a fresh
console app on the given casework database and prints the page a GET answers with the given
cookies, so nothing of the first replica's memory can be behind what it shows.

    python -m tests.support.console_replica <sqlite file> <path> <cookie=value>..."""

import asyncio
import sys

import httpx

from services.common.db import make_engine
from tests.unit.test_console_forms import console_app


async def main(db: str, path: str, cookies: list[str]) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    app = console_app(engine)
    jar = dict(c.split("=", 1) for c in cookies)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", cookies=jar) as c:
        r = await c.get(path)
    await app.state.api.aclose()
    await engine.dispose()
    sys.stdout.write(f"{r.status_code}\n{r.text}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
