"""The ceiling of the intake on this machine, now: `../shared/ceiling/run.sh --modes batch` (a
minimal Kafka -> validate -> PostgreSQL -> Kafka pipeline on the same broker, database and drivers;
see its README), run by bench.run_all right before the product's intake so the two figures are of
the same hour. It gets a broker port and a database of its own, so it cannot meet another run."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from bench.common import drop_database, out
from deploy.local.components import create_database, free_port
from tests.stack import PG_ADMIN, ROOT

LINE = re.compile(r"^ceiling batch: median (\d+) events/s", re.MULTILINE)


def find_script() -> Path | None:
    """`../shared/ceiling/run.sh` from the checkout, or from its parent (a worktree under wt/)."""
    for parent in ROOT.parents:
        script = parent / "shared" / "ceiling" / "run.sh"
        if script.is_file():
            return script
    return None


def measure(script: Path | None, timeout: float = 900) -> float | None:
    """The batch variant's median events/s, printed with the script's own lines; None (and why)
    when the script is absent or failed."""
    out("\n=== ceiling: ../shared/ceiling/run.sh --modes batch")
    if script is None:
        out("  ../shared/ceiling/run.sh not found: no ceiling measured, no ratio")
        return None
    name = f"ceiling_bench_{uuid.uuid4().hex[:10]}"
    url = create_database(PG_ADMIN, name)
    argv = ["bash", str(script), "--modes", "batch", "--port", str(free_port()), "--pg-url", url]
    out("$ PYTHON=" + sys.executable + " " + " ".join(argv[1:]))
    try:
        done = subprocess.run(
            argv,
            cwd=ROOT,
            env={**os.environ, "PYTHON": sys.executable},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        out(f"  the ceiling did not finish in {timeout:.0f} s: no ratio")
        return None
    finally:
        drop_database(name)
    for line in (done.stdout + done.stderr).splitlines():
        out("  " + line)
    found = LINE.search(done.stdout)
    if done.returncode or not found:
        out(f"  (exit status {done.returncode}; no ceiling figure: no ratio)")
        return None
    return float(found.group(1))
