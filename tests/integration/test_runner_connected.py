"""Issue 21 (3): `kill -9` of one service used to make the local runner stop all ten processes
with exit 1. The real runner (`python -m deploy.local.stack`, on shifted ports and its own database)
now starts the killed service again, says so, keeps the others, and still stops cleanly when asked."""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from deploy.local.components import create_database, ensure_postgres, port_open
from deploy.local.stack import GATEWAY, KAFKA_PORT, SERVICES, TEMPORAL_PORT, TEMPORAL_UI_PORT
from deploy.local.tiers import NICE_ENV, Tier, niceness
from tests.stack import PG_ADMIN, ROOT

pytestmark = [pytest.mark.connected, pytest.mark.slow]


def _free_offset() -> int:
    ports = [KAFKA_PORT, TEMPORAL_PORT, TEMPORAL_UI_PORT, GATEWAY.port, *(s.port for s in SERVICES if s.port)]
    for offset in range(21000, 40000, 97):
        if not any(port_open("127.0.0.1", p + offset) for p in ports):
            return offset
    raise RuntimeError("no free port range")


def _wait_for(path: Path, pattern: str, proc: subprocess.Popen, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(errors="replace"))
        if found:
            return found
        assert proc.poll() is None, f"the runner exited ({proc.returncode}):\n{path.read_text()[-3000:]}"
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not in the runner's output within {timeout}s:\n{path.read_text()[-3000:]}")


def _nice(pid: int) -> int:
    """Field 19 of /proc/<pid>/stat, counted after the command's closing ')'."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19 - 3])


def test_runner_restarts_a_killed_service(tmp_path: Path) -> None:
    ensure_postgres(PG_ADMIN)
    database = create_database(PG_ADMIN, f"credit_runner_{uuid.uuid4().hex[:10]}")
    offset = _free_offset()
    out = tmp_path / "runner.out"
    env = {**os.environ, "DATABASE_URL": database, "LOG_LEVEL": "INFO"}
    env.pop(NICE_ENV, None)  # the tiers at their default
    argv = [
        sys.executable,
        "-m",
        "deploy.local.stack",
        "--port-offset",
        str(offset),
        "--var-dir",
        str(tmp_path / "var"),
    ]
    with out.open("wb") as sink:
        runner = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_for(out, r"Ctrl-C stops everything", runner, 240)
        assert "topics IN MEMORY" in out.read_text()  # the banner says what a broker restart loses
        pid = int(_wait_for(out, r"evaluation has pid (\d+)", runner, 5).group(1))
        publication_pid = int(_wait_for(out, r"publication has pid (\d+)", runner, 5).group(1))
        os.kill(pid, signal.SIGKILL)
        _wait_for(out, r"evaluation exited with code -9; starting it again", runner, 30)
        new_pid = int(_wait_for(out, r"restarting evaluation[\s\S]*evaluation has pid (\d+)", runner, 30).group(1))
        assert new_pid != pid
        url = f"http://127.0.0.1:{8101 + offset}/healthz"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the restarted evaluation service never answered"
            time.sleep(0.5)
        assert runner.poll() is None
        os.kill(publication_pid, 0)  # the others were left alone
        # Issue 19: a background service the supervisor starts again keeps its tier's niceness.
        base = os.nice(0)
        assert _nice(new_pid) == base
        stats_pid = int(_wait_for(out, r"statistics has pid (\d+)", runner, 5).group(1))
        assert _nice(stats_pid) == min(base + niceness(Tier.BACKGROUND, {}), 19) > base
        os.kill(stats_pid, signal.SIGKILL)
        restarted = _wait_for(out, r"restarting statistics[\s\S]*statistics has pid (\d+)", runner, 30)
        assert _nice(int(restarted.group(1))) == min(base + niceness(Tier.BACKGROUND, {}), 19)
        assert httpx.get(f"http://127.0.0.1:{8000 + offset}/healthz", timeout=5, trust_env=False).status_code == 200
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(60) == 0
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGTERM)
            try:
                runner.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(runner.pid, signal.SIGKILL)
        import asyncio

        import asyncpg

        async def drop() -> None:
            conn = await asyncpg.connect(PG_ADMIN)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{database.rsplit("/", 1)[1]}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(drop())
