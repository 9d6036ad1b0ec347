"""Time, injected: services ask a clock so that tests can hold time still or move it on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    # Stored times are to the second; dropping microseconds keeps "now" equal to what we store.
    return datetime.now(UTC).replace(microsecond=0)
