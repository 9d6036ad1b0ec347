"""The shipping board's table: one row per order, statuses in their theme colour.

DataTable draws cells with Rich, which knows nothing of Textual's `$status-NAME` variables,
so the colours are looked up in the theme here (and again when the theme changes).
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from ...domain.models import Order, cents_to_decimal
from .timeline import local_time

# (key, header, width). The mark and the ref stay put while the rest scrolls sideways;
# the shipping status comes right after them so that 80 columns always show it.
COLUMNS = (
    ("mark", "", 1),
    ("ref", "Ref", 10),
    ("shipping", "Shipping", 13),
    ("customer", "Customer", 16),
    ("city", "City", 11),
    ("carrier", "Carrier", 8),
    ("tracking", "Tracking", 13),
    ("sync", "Sync", 7),
    ("heard", "Last event", 11),
    ("total", "Total", 9),
)


class BoardTable(DataTable[Text], inherit_bindings=False):
    """DataTable without its own `enter`, so that the board's `enter` opens the order."""

    BINDINGS = [
        binding
        for binding in DataTable.BINDINGS
        if not (isinstance(binding, Binding) and binding.key == "enter")
    ]

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, width=width, key=key)

    def draw(
        self, order: Order, *, heard: datetime | None, marked: bool, colours: dict[str, str]
    ) -> None:
        """Put `order` in its row (added at the end if it has none yet)."""
        key = str(order.id)
        values = order_cells(order, heard=heard, marked=marked, colours=colours)
        if key not in self.rows:
            self.add_row(*values, key=key)
            return
        for (column, _, _), value in zip(COLUMNS, values, strict=True):
            self.update_cell(key, column, value)


def order_cells(
    order: Order, *, heard: datetime | None, marked: bool, colours: dict[str, str]
) -> tuple[Text, ...]:
    """The row of `order`, in COLUMNS order; `colours` are the theme's variables."""
    shipping = order.shipping.value if order.shipping else None
    state = Text(
        shipping.replace("_", " ") if shipping else "-",
        style=f"bold {colours.get(f'status-{shipping}', '')}",
    )
    sync_style = colours.get("error", "") if order.sync == "failed" else ""
    return (
        Text("*", style="bold") if marked else Text(" "),
        Text(order.ref, style="bold"),
        state,
        Text(order.customer),
        Text(order.city),
        Text(order.delivery),
        Text(order.tracking or "-"),
        Text(order.sync or "-", style=sync_style),
        Text(local_time(heard) if heard else "-"),
        Text(f"{cents_to_decimal(order.total_cents):,}", justify="right"),
    )
