"""Aggregates for the overview."""

from __future__ import annotations

from .db import Database


async def status_totals(db: Database) -> list[tuple[str, str | None, int, int]]:
    """(confirmation, shipping, orders, total cents) for every pair that occurs."""
    rows = await db.fetchall(
        """SELECT confirmation, shipping, count(*), COALESCE(SUM(total_cents), 0)
           FROM orders GROUP BY confirmation, shipping"""
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]
