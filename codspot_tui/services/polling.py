"""The shipping board's reads and its one write: asking the carrier worker to poll now.

`poll_now` only moves parcels' next poll time to now; whichever worker runs (in-process or
`codspot worker`) picks them up on its next round, so no process talks to another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..domain.times import from_stored, to_stored
from ..store import polling as q
from ..store.db import Database
from .clock import Clock, system_clock


async def poll_now(
    db: Database, order_ids: Sequence[int] | None, clock: Clock = system_clock
) -> int:
    """How many parcels (of `order_ids`, or all when None) the worker will poll next round.

    Local deliveries, parcels not created at the carrier yet and final ones are left out.
    """
    now = to_stored(clock())
    ids = None if order_ids is None else list(order_ids)
    return await db.write(lambda conn: q.poll_now(conn, now, ids))


async def shipping_counts(
    db: Database,
    *,
    delivery: str | None = None,
    city: str | None = None,
    search: str | None = None,
) -> dict[str, int]:
    """Confirmed orders per shipping status under the board's carrier, city and text filters."""
    return await q.shipping_counts(db, delivery=delivery, city=city, search=search)


async def last_carrier_events(db: Database, order_ids: Sequence[int]) -> dict[int, datetime]:
    """When the carrier last reported on each order; orders it never did are absent."""
    found = await q.last_carrier_event_times(db, order_ids)
    return {order_id: from_stored(at) for order_id, at in found.items()}
