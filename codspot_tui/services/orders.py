"""Reading orders: find one by ref, list a filtered page, show one with its timeline."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from functools import partial

from ..domain.errors import BadInput, NotFound, OrderLocked, StaleOrder
from ..domain.models import Actor, Order
from ..domain.statuses import QUEUE_STATUSES
from ..domain.text import clean_text
from ..domain.times import to_stored
from ..settings import Settings
from ..store.db import Database
from ..store.orders import (
    OrderFilter,
    fetch_order_row,
    order_id_by_source_ref,
    order_ids_by_ref,
    order_with,
    orders_page,
    phone_history,
    set_quantities,
    update_contact,
)
from .claims import refuse_if_claimed_by_other
from .clock import Clock, system_clock
from .phones import e164

MAX_PAGE = 1000
MAX_QTY = 10_000


@dataclass(frozen=True)
class OrderEdit:
    """What an agent corrects during the call, before confirming. None: unchanged."""

    phone: str | None = None
    city: str | None = None
    address: str | None = None
    quantities: dict[int, int] = field(default_factory=dict)  # item line (1-based) -> qty


class OrderService:
    def __init__(
        self, db: Database, settings: Settings | None = None, clock: Clock = system_clock
    ) -> None:
        self.db = db
        self.region = settings.region if settings else "MA"
        self.clock = clock

    async def resolve(self, ref: str) -> int:
        """The id of order `ref`; `SOURCE:REF` picks one where several sources share a ref."""
        matches = await order_ids_by_ref(self.db, ref)
        if len(matches) == 1:
            return matches[0][0]
        if len(matches) > 1:
            sources = ", ".join(source for _, source in matches)
            raise BadInput(f"ref {ref!r} exists in sources {sources}: say SOURCE:{ref}")
        source, sep, bare = ref.partition(":")
        if sep:
            order_id = await order_id_by_source_ref(self.db, source, bare)
            if order_id is not None:
                return order_id
        raise NotFound(f"no order {ref!r}")

    async def get(self, order_id: int, *, with_events: bool = False) -> Order:
        order = await self.db.read(partial(order_with, order_id=order_id, with_events=with_events))
        if order is None:
            raise NotFound(f"no order with id {order_id}")
        return order

    async def page(
        self, where: OrderFilter, *, before_id: int | None = None, limit: int = 50
    ) -> list[Order]:
        if not 1 <= limit <= MAX_PAGE:
            raise BadInput(f"limit must be between 1 and {MAX_PAGE}")
        return await orders_page(self.db, where, before_id=before_id, limit=limit)

    async def phone_history(self, order: Order) -> dict[str, int]:
        """How this customer's other orders ended (fake, canceled...), by confirmation."""
        return await phone_history(self.db, order.phone, order.id)

    async def edit(self, actor: Actor, order_id: int, change: OrderEdit, version: int) -> Order:
        """Correct phone, city, address or quantities of an order still in the queue."""
        contact: dict[str, str] = {}
        try:
            if change.phone is not None:
                phone = e164(change.phone, self.region)
                if phone is None:
                    raise ValueError(f"{change.phone!r} is not a valid phone number")
                contact["phone"] = phone
            if change.city is not None:
                contact["city"] = clean_text(change.city, "the city", max_length=100)
            if change.address is not None:
                contact["address"] = clean_text(change.address, "the address", max_length=500)
        except ValueError as error:
            raise BadInput(str(error)) from None
        for line, qty in change.quantities.items():
            if not 1 <= qty <= MAX_QTY:
                raise BadInput(f"quantity on line {line} must be between 1 and {MAX_QTY}")
        now = self.clock()

        def store(conn: sqlite3.Connection) -> None:
            row = fetch_order_row(conn, order_id)
            if row is None:
                raise NotFound(f"no order with id {order_id}")
            if row["confirmation"] not in QUEUE_STATUSES:
                raise OrderLocked(
                    f"Order {row['ref']} is {row['confirmation']}: it can't be edited"
                )
            refuse_if_claimed_by_other(row, actor, now)
            if not update_contact(conn, order_id, version, contact, to_stored(now)):
                raise StaleOrder(f"Order {row['ref']} changed since you opened it; look again")
            if change.quantities:
                set_quantities(conn, order_id, change.quantities)

        await self.db.write(store)
        return await self.get(order_id, with_events=True)
