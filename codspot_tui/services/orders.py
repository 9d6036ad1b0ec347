"""Reading orders: find one by ref, list a filtered page, show one with its timeline."""

from __future__ import annotations

from ..domain.errors import BadInput, NotFound
from ..domain.models import Order
from ..store.db import Database
from ..store.orders import (
    ORDER_COLUMNS,
    OrderFilter,
    events_of,
    items_of,
    order_from_row,
    order_id_by_source_ref,
    order_ids_by_ref,
    orders_page,
)

MAX_PAGE = 1000


class OrderService:
    def __init__(self, db: Database) -> None:
        self.db = db

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
        row = await self.db.fetchone(
            f"SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = ?", (order_id,)
        )
        if row is None:
            raise NotFound(f"no order with id {order_id}")
        items = await items_of(self.db, [order_id])
        events = await events_of(self.db, order_id) if with_events else []
        return order_from_row(row, items[order_id], events)

    async def page(
        self, where: OrderFilter, *, before_id: int | None = None, limit: int = 50
    ) -> list[Order]:
        if not 1 <= limit <= MAX_PAGE:
            raise BadInput(f"limit must be between 1 and {MAX_PAGE}")
        return await orders_page(self.db, where, before_id=before_id, limit=limit)
