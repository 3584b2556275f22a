"""Small helpers shared by the benchmarks: percentiles, output, the event loop, dropping a database."""

import asyncio
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# The tests.stack environment speeds periodic work up so connected tests finish; a benchmark
# measures the system as deployed (services/common/production_settings.py and the policy's values).
DEPLOYED_PACE: dict[str, str | None] = {
    "CREDIT_METRICS_SAMPLE_SECONDS": "15",
    "CREDIT_LEDGER_CHECKPOINT_SECONDS": "600",
    "CREDIT_EXPIRY_MAX_SLEEP_SECONDS": None,
    "CREDIT_EVIDENCE_GRANT_SECONDS": None,
}


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100); nan when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def latency_summary(latencies_ms: list[float]) -> dict[str, float]:
    values = sorted(latencies_ms)
    return {
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "max_ms": values[-1] if values else float("nan"),
    }


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop when it is installed: the load generator shares the two cores."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        return asyncio.run(main)
    return uvloop.run(main)


def stop_stack(stack: Any, workdir: Path, keep_logs: Path | None) -> None:
    """The end of every benchmark's stack, whatever happened: its logs copied to `keep_logs` (when
    given), then `Stack.close` (its processes stopped, its database dropped)."""
    if keep_logs:
        keep_logs.mkdir(parents=True, exist_ok=True)
        for log in workdir.glob("*.log"):
            (keep_logs / log.name).write_bytes(log.read_bytes())
    stack.close()


def drop_database(name: str) -> None:
    """Drop a database a benchmark created (whatever connections it still has)."""
    from deploy.local.components import drop_database as drop
    from tests.stack import PG_ADMIN

    drop(PG_ADMIN, name)
