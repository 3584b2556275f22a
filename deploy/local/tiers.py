"""CPU priority tiers (issue 19): on a small machine the background consumers digest a burst at the
same time as the intake path and the public credit check, and take the CPU from both. Each process
belongs to a tier; locally the background tier runs at a higher niceness, on Kubernetes the tiers
get different CPU requests (cgroup CPU weight) and the read and intake tiers a PriorityClass.

- `read`: the gateway, which answers the public credit check `GET /v1/credit/{type}/{id}`.
- `intake`: the report → record path (evaluation) and publication, whose read model the credit
  check answers from (a blacklisted supplier must show quickly).
- `background`: everything that digests records afterwards, and Temporal's dev server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum


class Tier(StrEnum):
    READ = "read"
    INTAKE = "intake"
    BACKGROUND = "background"


# The niceness the background tier runs at locally; `CREDIT_LOCAL_NICE=0` turns the tiers off.
# Niceness only goes up (no root needed): read and intake stay at 0.
NICE_ENV = "CREDIT_LOCAL_NICE"
DEFAULT_BACKGROUND_NICE = 10
# Temporal's dev server runs the watch's clocks and the workflows' timers: background.
TEMPORAL_TIER = Tier.BACKGROUND


def niceness(tier: Tier, environ: Mapping[str, str] | None = None) -> int:
    """The niceness a process of `tier` starts at on this machine (0 = unchanged)."""
    if tier is not Tier.BACKGROUND:
        return 0
    raw = (os.environ if environ is None else environ).get(NICE_ENV, "").strip()
    if not raw:
        return DEFAULT_BACKGROUND_NICE
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{NICE_ENV} must be an integer niceness 0..19, got {raw!r}") from exc
    if not 0 <= value <= 19:
        raise ValueError(f"{NICE_ENV} must be an integer niceness 0..19, got {raw!r}")
    return value
