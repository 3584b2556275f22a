"""Small helpers shared by the benchmarks: percentiles, output, the event loop."""

import asyncio
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


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
