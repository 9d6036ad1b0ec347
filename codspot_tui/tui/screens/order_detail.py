"""One order in full: who, where, what, the parcel, and its whole timeline. `escape` back."""

from __future__ import annotations

from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ...domain.models import Order, cents_to_decimal
from ...services.polling import last_carrier_events
from ..widgets.footer import KeysFooter
from ..widgets.header import CodspotHeader
from ..widgets.shown import assemble
from ..widgets.status import order_state
from ..widgets.timeline import Timeline, local_time
from .base import CodspotScreen


class OrderDetailScreen(CodspotScreen):
    HELP_TITLE = "Order"
    BINDINGS = [Binding("escape", "back", "Back", id="order.back")]
    DEFAULT_CSS = """
    OrderDetailScreen #order { border: round $primary; padding: 0 1; }
    OrderDetailScreen .heading { color: $text-muted; text-style: bold; margin-top: 1; }
    """

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id
        self.order: Order | None = None

    def compose(self) -> ComposeResult:
        yield CodspotHeader()
        with VerticalScroll(id="order"):
            yield Static("Loading...", id="details")
            yield Static("Timeline", classes="heading")
            yield Timeline(id="timeline")
        yield KeysFooter()

    def reload(self) -> None:
        self.load_order()

    @work(group="order-detail", exclusive=True, exit_on_error=False)
    async def load_order(self) -> None:
        order = await self.services.orders.get(self.order_id, with_events=True)
        heard = await last_carrier_events(self.services.db, [order.id])
        self.order = order
        self.query_one("#details", Static).update(details_text(order, heard.get(order.id)))
        self.query_one(Timeline).show(order.events)

    def action_back(self) -> None:
        self.dismiss()


def details_text(order: Order, carrier_event_at: datetime | None) -> Content:
    heard = local_time(carrier_event_at) if carrier_event_at else "never"
    parts: list[Content | str | tuple[str, str]] = [
        (order.ref, "bold"),
        "  ",
        order_state(order),
        (f"\n{order.customer}  {order.phone}\n{order.city}", "bold"),
        f"  {' '.join(order.address.split())}\n",
        f"Carrier: {order.delivery}   tracking: {order.tracking or '-'}",
        f"   last carrier event: {heard}\n",
    ]
    parts += [
        f"{item.qty} x {item.sku} @ {cents_to_decimal(item.price_cents)}\n" for item in order.items
    ]
    parts.append((f"To collect: {cents_to_decimal(order.total_cents):,} MAD\n", "bold"))
    parts.append(
        (
            f"From {order.source}, created {local_time(order.created_at)},"
            f" updated {local_time(order.updated_at)}",
            "dim",
        )
    )
    if order.note:
        parts.append((f"\nNote: {' '.join(order.note.split())}", "italic"))
    return assemble(*parts)
