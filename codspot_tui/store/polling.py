"""Queries of the shipping board: counts by shipping status, carrier event times, poll now."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ..domain.statuses import LOCAL_DELIVERY
from .db import Database
from .orders import _escape_like
from .sql import placeholders

# A parcel the worker still follows: at a connected carrier, created there, not final.
_POLLABLE = """
    delivery <> ? AND tracking IS NOT NULL AND shipping IS NOT NULL
    AND shipping NOT IN ('delivered', 'returned')
"""


async def shipping_counts(
    db: Database,
    *,
    delivery: str | None = None,
    city: str | None = None,
    search: str | None = None,
) -> dict[str, int]:
    """Confirmed orders per shipping status, in one grouped query, under the board's filters.

    The filters match `orders_page`'s so that a count and its list agree.
    """
    clauses = ["o.shipping IS NOT NULL"]
    params: list[Any] = []
    if delivery:
        clauses.append("o.delivery = ?")
        params.append(delivery)
    if city:
        clauses.append("o.city = ? COLLATE NOCASE")
        params.append(city)
    if search:
        pattern = "%" + _escape_like(search) + "%"
        clauses.append(
            "(o.ref LIKE ? ESCAPE '\\' OR o.customer LIKE ? ESCAPE '\\'"
            " OR o.phone LIKE ? ESCAPE '\\' OR o.city LIKE ? ESCAPE '\\'"
            " OR o.tracking LIKE ? ESCAPE '\\')"
        )
        params.extend([pattern] * 5)
    rows = await db.fetchall(
        f"SELECT o.shipping, count(*) FROM orders o WHERE {' AND '.join(clauses)}"
        " GROUP BY o.shipping",
        params,
    )
    return {row[0]: row[1] for row in rows}


async def last_carrier_event_times(db: Database, order_ids: Sequence[int]) -> dict[int, str]:
    """When the carrier last said something about each order (stored text); absent: never."""
    if not order_ids:
        return {}
    marks = placeholders(order_ids)
    rows = await db.fetchall(
        f"SELECT id, last_carrier_event_at FROM orders"
        f" WHERE id IN ({marks}) AND last_carrier_event_at IS NOT NULL",
        list(order_ids),
    )
    return {row[0]: row[1] for row in rows}


def poll_now(conn: sqlite3.Connection, now: str, order_ids: Sequence[int] | None) -> int:
    """Make the parcels still followed due now (all of them when `order_ids` is None).

    Returns how many the worker will poll on its next round, those already due included.
    One pass over the table: only rows not due yet are written.
    """
    params: list[Any] = [LOCAL_DELIVERY]
    if order_ids is None:
        scope = ""
    elif not order_ids:
        return 0
    else:
        scope = f" AND id IN ({placeholders(order_ids)})"
        params.extend(order_ids)
    # Already due: the index of due parcels finds these without a scan.
    due = conn.execute(
        f"SELECT count(*) FROM orders WHERE {_POLLABLE}{scope}"
        " AND next_poll_at IS NOT NULL AND next_poll_at <= ?",
        [*params, now],
    ).fetchone()[0]
    moved = conn.execute(
        f"UPDATE orders SET next_poll_at = ?"
        f" WHERE {_POLLABLE}{scope} AND (next_poll_at IS NULL OR next_poll_at > ?)",
        [now, *params, now],
    ).rowcount
    return int(due) + int(moved)
