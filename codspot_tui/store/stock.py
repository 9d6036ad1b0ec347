"""The stock ledger: append-only movements, with the on-hand figure cached on the product."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from ..domain.models import Product, StockMovement
from ..domain.statuses import StockReason
from ..domain.times import from_stored, to_stored
from .db import Database, Row
from .sql import placeholders


def order_quantities(conn: sqlite3.Connection, order_id: int) -> dict[int, int]:
    """Units per product of one order (an order may list a product on several lines)."""
    rows = conn.execute(
        """SELECT product_id, SUM(qty) FROM order_items WHERE order_id = ?
           GROUP BY product_id ORDER BY product_id""",
        (order_id,),
    )
    return {row[0]: row[1] for row in rows}


def stock_levels(conn: sqlite3.Connection, product_ids: list[int]) -> dict[int, tuple[str, int]]:
    if not product_ids:
        return {}
    marks = placeholders(product_ids)
    rows = conn.execute(f"SELECT id, sku, on_hand FROM products WHERE id IN ({marks})", product_ids)
    return {row[0]: (row[1], row[2]) for row in rows}


def insert_movement(
    conn: sqlite3.Connection,
    product_id: int,
    delta: int,
    reason: StockReason,
    order_id: int | None,
    actor: str,
    note: str | None,
    at: datetime,
) -> bool:
    """Append one movement and update the cache; False when (order, product, reason) exists."""
    cursor = conn.execute(
        """INSERT INTO stock_movements (product_id, delta, reason, order_id, actor, note, at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (order_id, product_id, reason) WHERE order_id IS NOT NULL DO NOTHING""",
        (product_id, delta, reason.value, order_id, actor, note, to_stored(at)),
    )
    if cursor.rowcount != 1:
        return False
    conn.execute("UPDATE products SET on_hand = on_hand + ? WHERE id = ?", (delta, product_id))
    return True


def product_from_row(row: Row) -> Product:
    return Product(row["sku"], row["name"], row["price_cents"], row["on_hand"], row["low"])


_PRODUCT_BY_SKU = "SELECT id, sku, name, price_cents, on_hand, low FROM products WHERE sku = ?"


async def product_by_sku(db: Database, sku: str) -> Row | None:
    return await db.fetchone(_PRODUCT_BY_SKU, (sku,))


def product_row(conn: sqlite3.Connection, sku: str) -> Row | None:
    row: Row | None = conn.execute(_PRODUCT_BY_SKU, (sku,)).fetchone()
    return row


async def products_page(
    db: Database, *, after_sku: str | None = None, limit: int = 500
) -> list[Product]:
    rows = await db.fetchall(
        """SELECT sku, name, price_cents, on_hand, low FROM products
           WHERE (? IS NULL OR sku > ?) ORDER BY sku LIMIT ?""",
        (after_sku, after_sku, limit),
    )
    return [product_from_row(row) for row in rows]


async def ledger_of(
    db: Database, product_id: int, *, before_id: int | None = None, limit: int = 200
) -> list[StockMovement]:
    """A product's movements, newest first, a keyset page."""
    rows = await db.fetchall(
        """SELECT m.id, p.sku, m.delta, m.reason, o.ref, m.actor, m.note, m.at
           FROM stock_movements m
           JOIN products p ON p.id = m.product_id
           LEFT JOIN orders o ON o.id = m.order_id
           WHERE m.product_id = ? AND (? IS NULL OR m.id < ?)
           ORDER BY m.id DESC LIMIT ?""",
        (product_id, before_id, before_id, limit),
    )
    return [
        StockMovement(
            row["sku"],
            row["delta"],
            row["reason"],
            row["ref"],
            row["actor"],
            row["note"],
            from_stored(row["at"]),
        )
        for row in rows
    ]
