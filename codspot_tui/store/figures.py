"""Grouped queries for the stock view and the overview. Each is one statement over an index
(migration 0003) whose cost follows the rows it counts, not the size of the orders table."""

from __future__ import annotations

from datetime import datetime

from ..domain.statuses import IN_FLIGHT, Shipping
from ..domain.times import to_stored
from .db import Database, Row
from .sql import placeholders

# Shipped but not back yet: the goods are expected at the warehouse (DESIGN §1, Stock).
EXPECTED_BACK: frozenset[Shipping] = frozenset({Shipping.IN_RETURN, Shipping.CANCELED})

_OUT = tuple(sorted(IN_FLIGHT))
_BACK = tuple(sorted(EXPECTED_BACK))
_OUT_MARKS, _BACK_MARKS = placeholders(_OUT), placeholders(_BACK)


# The inner query walks `board_by_status` (shipping, id) for the open and returning parcels
# only, then each order's items by primary key: its cost is the parcels on the road.
_STOCK_FIGURES = f"""
    SELECT p.sku, p.name, p.price_cents, p.on_hand, p.low,
           COALESCE(f.units_out, 0) AS units_out, COALESCE(f.units_back, 0) AS units_back
    FROM products p
    LEFT JOIN (
        SELECT i.product_id,
               SUM(CASE WHEN o.shipping IN ({_OUT_MARKS}) THEN i.qty ELSE 0 END) AS units_out,
               SUM(CASE WHEN o.shipping IN ({_BACK_MARKS}) THEN i.qty ELSE 0 END) AS units_back
        FROM orders o JOIN order_items i ON i.order_id = o.id
        WHERE o.shipping IN ({_OUT_MARKS},{_BACK_MARKS})
        GROUP BY i.product_id
    ) f ON f.product_id = p.id
    ORDER BY p.sku
"""


async def stock_figures(db: Database) -> list[Row]:
    """Every product with on hand, low mark, units out in open parcels and units coming back."""
    return await db.fetchall(_STOCK_FIGURES, (*_OUT, *_BACK, *_OUT, *_BACK))


async def confirmation_work_since(db: Database, since: datetime) -> list[Row]:
    """(actor, to_status, events) of agents' confirmation moves since `since`.

    The literal kind matches the partial index `confirmation_events_by_time`, so only the
    period's events are read.
    """
    return await db.fetchall(
        """SELECT actor, to_status, count(*) AS events FROM status_events
           WHERE kind = 'confirmation' AND at >= ? AND actor LIKE 'agent:%'
           GROUP BY actor, to_status""",
        (to_stored(since),),
    )


async def active_agent_names(db: Database) -> list[str]:
    rows = await db.fetchall(
        "SELECT name FROM agents WHERE active = 1 AND role = 'agent' ORDER BY name"
    )
    return [row[0] for row in rows]


async def orders_per_hour_since(db: Database, since: datetime) -> list[tuple[str, int]]:
    """(UTC hour as stored, "2026-11-28T09", orders created in it) since `since`.

    Hours rather than days so that the caller can put them in the local day; a covering
    range scan of `orders_by_created`, about 720 groups for 30 days.
    """
    rows = await db.fetchall(
        """SELECT substr(created_at, 1, 13) AS hour, count(*) FROM orders
           WHERE created_at >= ? GROUP BY hour ORDER BY hour""",
        (to_stored(since),),
    )
    return [(row[0], row[1]) for row in rows]
