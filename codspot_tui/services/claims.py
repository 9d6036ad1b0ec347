"""The lease on an order: two agents must never call the same customer at once (DESIGN §3)."""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import ClaimedElsewhere
from ..domain.models import Actor
from ..domain.times import from_stored
from ..store.db import Row


def refuse_if_claimed_by_other(row: Row, actor: Actor, now: datetime) -> None:
    """Raise ClaimedElsewhere when someone else holds a live lease on the order `row`."""
    holder, until = row["claimed_by"], row["claim_expires_at"]
    if holder and holder != actor.name and until and from_stored(until) > now:
        raise ClaimedElsewhere(
            f"Order {row['ref']} is being handled by {holder} until "
            f"{from_stored(until).astimezone():%H:%M}"
        )
