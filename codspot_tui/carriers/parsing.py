"""Small readers shared by the adapters: carrier times and synthetic event ids."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Moroccan carriers write local wall-clock times without a zone.
try:
    MOROCCO: tzinfo = ZoneInfo("Africa/Casablanca")
except ZoneInfoNotFoundError:  # a machine without a time-zone database
    MOROCCO = UTC

_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
)


def carrier_time(value: Any, zone: tzinfo = MOROCCO) -> datetime:
    """A carrier's timestamp as an aware UTC datetime; ValueError when unreadable."""
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern in _FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"unreadable time {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def synthetic_event_id(tracking: str, raw_status: str, at: datetime) -> str:
    """Carriers without event ids: the same step always gets the same id, so replays dedupe."""
    return f"{tracking}|{at:%Y%m%dT%H%M%S}|{raw_status.strip()}"
