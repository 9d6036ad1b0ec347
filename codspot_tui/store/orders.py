"""Order queries: rows in, read models out. Parameters only, never string-built values."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain.models import NewOrder, Order, OrderItem, StatusEvent
from ..domain.statuses import Confirmation, Shipping, StatusKind
from ..domain.times import from_stored, to_stored
from .db import Database, Row
from .sql import MAX_IN_LIST, in_batches, placeholders, value_rows

ORDER_COLUMNS = """
    o.id, o.ref, o.source, o.created_at, o.customer, o.phone, o.city, o.address, o.delivery,
    o.note, o.confirmation, o.shipping, o.tracking, o.sync, o.attempts, o.last_attempt_at,
    o.callback_at, o.assigned_to, o.claimed_by, o.claim_expires_at, o.duplicate_of,
    o.total_cents, o.version, o.updated_at, o.last_carrier_event_at
"""


_CONFIRMATIONS = {status.value: status for status in Confirmation}
_SHIPPINGS: dict[str | None, Shipping | None] = {status.value: status for status in Shipping}
_SHIPPINGS[None] = None


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def order_from_row(
    row: Row, items: Sequence[OrderItem] = (), events: Sequence[StatusEvent] = ()
) -> Order:
    # By position, in ORDER_COLUMNS' order, with plain dict look-ups for the enums: a page of
    # the board builds fifty of these, and by-name access was most of its cost.
    (id_, ref, source, created_at, customer, phone, city, address, delivery, note,
     confirmation, shipping, tracking, sync, attempts, last_attempt_at, callback_at,
     assigned_to, claimed_by, claim_expires_at, duplicate_of, total_cents, version,
     updated_at) = tuple(row)[:24]  # fmt: skip
    return Order(
        id_, ref, source, datetime.fromisoformat(created_at), customer, phone, city, address,
        delivery, note, _CONFIRMATIONS[confirmation], _SHIPPINGS[shipping], tracking, sync,
        attempts, _time(last_attempt_at), _time(callback_at), assigned_to, claimed_by,
        _time(claim_expires_at), duplicate_of, total_cents, version,
        datetime.fromisoformat(updated_at), tuple(items), tuple(events),
    )  # fmt: skip


# What a status move reads of an order: a carrier batch reads a thousand of these, and the
# customer's name and address (most of a row) play no part in a move.
MOVE_COLUMNS = """
    o.id, o.ref, o.delivery, o.confirmation, o.shipping, o.version, o.attempts,
    o.last_attempt_at, o.last_carrier_event_at, o.claimed_by, o.claim_expires_at
"""


def fetch_order_rows(
    conn: sqlite3.Connection, order_ids: Sequence[int], columns: str = ORDER_COLUMNS
) -> dict[int, Row]:
    """The rows of many orders by id (`columns` of them, the id first), in a few statements
    rather than one per order."""
    rows: dict[int, Row] = {}
    for batch in in_batches(list(dict.fromkeys(order_ids))):
        sql = f"SELECT {columns} FROM orders o WHERE o.id IN ({placeholders(batch)})"
        for row in conn.execute(sql, batch):
            rows[row[0]] = row
    return rows


def seen_carrier_events(
    conn: sqlite3.Connection, events: Sequence[tuple[int, str]]
) -> set[tuple[int, str]]:
    """Which of these (order id, carrier event id) pairs are in their order's timeline."""
    seen: set[tuple[int, str]] = set()
    for batch in in_batches(list(dict.fromkeys(events)), MAX_IN_LIST // 2):
        pairs = value_rows(len(batch), 2)
        # CROSS JOIN keeps the pairs outside: one look-up in carrier_event_once each (a
        # row-value IN would scan the whole timeline table).
        seen.update(
            (order_id, event_id)
            for order_id, event_id in conn.execute(
                f"""SELECT e.order_id, e.carrier_event_id
                    FROM (VALUES {pairs}) AS wanted CROSS JOIN status_events e
                      ON e.order_id = wanted.column1 AND e.carrier_event_id = wanted.column2""",
                [value for pair in batch for value in pair],
            )
        )
    return seen


def fetch_order_row(conn: sqlite3.Connection, order_id: int) -> Row | None:
    row: Row | None = conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = ?", (order_id,)
    ).fetchone()
    return row


async def order_ids_by_ref(db: Database, ref: str) -> list[tuple[int, str]]:
    """(id, source) of every order called `ref`; refs are unique per source only."""
    rows = await db.fetchall("SELECT id, source FROM orders WHERE ref = ? ORDER BY id", (ref,))
    return [(row["id"], row["source"]) for row in rows]


async def order_id_by_source_ref(db: Database, source: str, ref: str) -> int | None:
    found = await db.scalar("SELECT id FROM orders WHERE source = ? AND ref = ?", (source, ref))
    return None if found is None else int(found)


def event_rows(conn: sqlite3.Connection, order_id: int) -> list[StatusEvent]:
    """An order's timeline, oldest first (on the database thread)."""
    rows = conn.execute(
        """SELECT kind, from_status, to_status, actor, source, note, at, carrier_event_id,
                  ignored, raw_status
           FROM status_events WHERE order_id = ? ORDER BY id""",
        (order_id,),
    ).fetchall()
    return [
        StatusEvent(
            kind=StatusKind(row["kind"]),
            from_status=row["from_status"],
            to_status=row["to_status"],
            actor=row["actor"],
            source=row["source"],
            note=row["note"],
            at=from_stored(row["at"]),
            carrier_event_id=row["carrier_event_id"],
            ignored=bool(row["ignored"]),
            raw_status=row["raw_status"],
        )
        for row in rows
    ]


def order_with(conn: sqlite3.Connection, order_id: int, *, with_events: bool) -> Order | None:
    """One order with its items (and timeline), read in one trip to the database thread."""
    row = fetch_order_row(conn, order_id)
    if row is None:
        return None
    items = item_rows(conn, [order_id])[order_id]
    return order_from_row(row, items, event_rows(conn, order_id) if with_events else ())


@dataclass(frozen=True)
class OrderFilter:
    confirmation: frozenset[Confirmation] = frozenset()
    shipping: frozenset[Shipping] = frozenset()
    search: str | None = None
    delivery: str | None = None
    city: str | None = None


async def orders_page(
    db: Database, where: OrderFilter, *, before_id: int | None = None, limit: int = 50
) -> list[Order]:
    """Newest first, a keyset page: pass the last id seen as `before_id` for the next one."""
    clauses: list[str] = []
    params: list[Any] = []
    if where.confirmation:
        clauses.append(f"o.confirmation IN ({placeholders(where.confirmation)})")
        params.extend(sorted(where.confirmation))
    if where.shipping:
        clauses.append(f"o.shipping IN ({placeholders(where.shipping)})")
        params.extend(sorted(where.shipping))
    if where.delivery:
        clauses.append("o.delivery = ?")
        params.append(where.delivery)
    if where.city:
        clauses.append("o.city = ? COLLATE NOCASE")
        params.append(where.city)
    if where.search:
        pattern = "%" + _escape_like(where.search) + "%"
        clauses.append(
            "(o.ref LIKE ? ESCAPE '\\' OR o.customer LIKE ? ESCAPE '\\'"
            " OR o.phone LIKE ? ESCAPE '\\' OR o.city LIKE ? ESCAPE '\\'"
            " OR o.tracking LIKE ? ESCAPE '\\')"
        )
        params.extend([pattern] * 5)
    if before_id is not None:
        clauses.append("o.id < ?")
        params.append(before_id)
    sql = f"SELECT {ORDER_COLUMNS} FROM orders o"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY o.id DESC LIMIT ?"
    params.append(limit)

    def page(conn: sqlite3.Connection) -> list[Order]:
        # Rows and their items in one trip to the database thread: a page is a screenful.
        rows = conn.execute(sql, params).fetchall()
        items = item_rows(conn, [row["id"] for row in rows])
        return [order_from_row(row, items[row["id"]]) for row in rows]

    return await db.read(page)


def item_rows(conn: sqlite3.Connection, order_ids: Sequence[int]) -> dict[int, list[OrderItem]]:
    """Items of many orders in one query, in line order (on the database thread)."""
    found: dict[int, list[OrderItem]] = {order_id: [] for order_id in order_ids}
    if order_ids:
        marks = placeholders(order_ids)
        for order_id, sku, qty, price in conn.execute(
            f"""SELECT i.order_id, p.sku, i.qty, i.price_cents
                FROM order_items i JOIN products p ON p.id = i.product_id
                WHERE i.order_id IN ({marks}) ORDER BY i.order_id, i.line""",
            list(order_ids),
        ):
            found[order_id].append(OrderItem(sku, qty, price))
    return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


OPEN_ORDER_SQL = """
    (confirmation IN ('new', 'no_answer', 'call_later')
     OR shipping IN ('created', 'fulfilled', 'shipped', 'package_issue'))
"""


def open_order_ref_for_phone(conn: sqlite3.Connection, phone: str) -> str | None:
    """The ref of the oldest open order (not closed, parcel not done) for this phone."""
    row = conn.execute(
        f"SELECT ref FROM orders WHERE phone = ? AND {OPEN_ORDER_SQL} ORDER BY id LIMIT 1",
        (phone,),
    ).fetchone()
    return None if row is None else str(row[0])


def insert_order(conn: sqlite3.Connection, order: NewOrder, now: datetime) -> int | None:
    """Store a new order and its items; None when (source, ref) is already there."""
    cursor = conn.execute(
        """INSERT INTO orders (ref, source, created_at, customer, phone, city, address, delivery,
                               note, assigned_to, duplicate_of, total_cents, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (source, ref) DO NOTHING""",
        (
            order.ref,
            order.source,
            to_stored(order.created_at),
            order.customer,
            order.phone,
            order.city,
            order.address,
            order.delivery,
            order.note,
            order.assigned_to,
            order.duplicate_of,
            order.total_cents,
            to_stored(now),
        ),
    )
    if cursor.rowcount != 1:
        return None
    order_id = int(cursor.lastrowid or 0)
    conn.executemany(
        "INSERT INTO order_items (order_id, line, product_id, qty, price_cents)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (order_id, line, item.product_id, item.qty, item.price_cents)
            for line, item in enumerate(order.items, start=1)
        ],
    )
    return order_id


async def phone_history(db: Database, phone: str, order_id: int) -> dict[str, int]:
    """How the phone's other orders ended: confirmation status -> count."""
    rows = await db.fetchall(
        "SELECT confirmation, count(*) FROM orders WHERE phone = ? AND id <> ? GROUP BY 1",
        (phone, order_id),
    )
    return {row[0]: row[1] for row in rows}


def update_contact(
    conn: sqlite3.Connection, order_id: int, version: int, changes: dict[str, str], now: str
) -> bool:
    """Change an order's phone, city or address; False when its version moved on."""
    assignments = "".join(f"{column} = ?, " for column in changes)
    cursor = conn.execute(
        f"UPDATE orders SET {assignments}updated_at = ?, version = version + 1"
        " WHERE id = ? AND version = ?",
        (*changes.values(), now, order_id, version),
    )
    return cursor.rowcount == 1


def set_quantities(conn: sqlite3.Connection, order_id: int, quantities: dict[int, int]) -> None:
    """New quantities by item line, and the order's total to match."""
    conn.executemany(
        "UPDATE order_items SET qty = ? WHERE order_id = ? AND line = ?",
        [(qty, order_id, line) for line, qty in quantities.items()],
    )
    conn.execute(
        """UPDATE orders SET total_cents =
             (SELECT COALESCE(SUM(qty * price_cents), 0) FROM order_items WHERE order_id = ?)
           WHERE id = ?""",
        (order_id, order_id),
    )
