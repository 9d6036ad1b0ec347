"""Products and the stock ledger: admins add products, restock and adjust, with a reason."""

from __future__ import annotations

import sqlite3

from ..domain.errors import BadInput, NotFound, Refused
from ..domain.models import Actor, Product, StockMovement
from ..domain.statuses import StockReason
from ..domain.text import check_sku, clean_text
from ..domain.times import to_stored
from ..store.db import Database
from ..store.stock import (
    insert_movement,
    ledger_of,
    product_by_sku,
    product_from_row,
    product_row,
    products_page,
)
from .agents import require_admin
from .clock import Clock, system_clock

MAX_UNITS = 10_000_000  # a typo guard: nobody stocks ten million of one thing from a terminal


class StockService:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock

    async def add_product(
        self,
        actor: Actor,
        sku: str,
        name: str,
        *,
        price_cents: int = 0,
        stock: int = 0,
        low: int = 0,
    ) -> Product:
        require_admin(actor, "add products")
        try:
            sku = check_sku(sku)
            name = clean_text(name, "product name", max_length=200)
        except ValueError as error:
            raise BadInput(str(error)) from None
        if price_cents < 0:
            raise BadInput("price can't be negative")
        if not 0 <= stock <= MAX_UNITS:
            raise BadInput(f"initial stock must be between 0 and {MAX_UNITS}")
        if not 0 <= low <= MAX_UNITS:
            raise BadInput(f"low-stock mark must be between 0 and {MAX_UNITS}")
        now = self.clock()

        def add(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                """INSERT INTO products (sku, name, price_cents, low, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (sku, name, price_cents, low, to_stored(now)),
            )
            if stock:
                insert_movement(
                    conn,
                    int(cursor.lastrowid or 0),
                    stock,
                    StockReason.RESTOCK,
                    None,
                    actor.label,
                    "initial stock",
                    now,
                )

        try:
            await self.db.write(add)
        except sqlite3.IntegrityError:
            raise Refused(f"product {sku} already exists") from None
        return await self.product(sku)

    async def product(self, sku: str) -> Product:
        row = await product_by_sku(self.db, sku)
        if row is None:
            raise NotFound(f"no product with SKU {sku!r}")
        return product_from_row(row)

    async def products(self) -> list[Product]:
        found: list[Product] = []
        while page := await products_page(self.db, after_sku=found[-1].sku if found else None):
            found.extend(page)
        return found

    async def adjust(self, actor: Actor, sku: str, delta: int, reason: str) -> Product:
        """Correct the on-hand figure by `delta` (a count, a breakage, a delivery of goods)."""
        require_admin(actor, "adjust stock")
        try:
            reason = clean_text(reason, "the reason", max_length=300)
        except ValueError as error:
            raise BadInput(str(error)) from None
        if delta == 0 or abs(delta) > MAX_UNITS:
            raise BadInput(f"an adjustment is a non-zero number of units up to {MAX_UNITS}")
        now = self.clock()

        def adjust(conn: sqlite3.Connection) -> None:
            row = product_row(conn, sku)
            if row is None:
                raise NotFound(f"no product with SKU {sku!r}")
            if row["on_hand"] + delta < 0:
                raise Refused(
                    f"Stock can't go below zero: {sku} has {row['on_hand']}, adjustment {delta}"
                )
            insert_movement(
                conn, row["id"], delta, StockReason.ADJUST, None, actor.label, reason, now
            )

        await self.db.write(adjust)
        return await self.product(sku)

    async def history(self, sku: str, *, limit: int = 200) -> list[StockMovement]:
        row = await product_by_sku(self.db, sku)
        if row is None:
            raise NotFound(f"no product with SKU {sku!r}")
        return await ledger_of(self.db, row["id"], limit=limit)
