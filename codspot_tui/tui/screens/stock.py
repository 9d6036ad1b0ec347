"""`3`: stock. Every product with on hand, its low-stock mark, units out in open parcels and
units coming back; `enter` shows a product's ledger, `a` adjusts (admins only)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Input

from ...domain.errors import CodspotError, NotAdmin
from ...domain.models import Product, StockMovement
from ...services.agents import require_admin
from ...services.figures import FiguresService, StockLine
from ..widgets.adjust_dialog import AdjustDialog, Adjustment
from ..widgets.footer import KeysFooter
from ..widgets.header import CodspotHeader
from ..widgets.shown import cell, one_line, plain
from ..widgets.timeline import local_time
from .base import CodspotScreen

# Product names are cut to what is left beside the figures: 24 at 80 columns, up to 60.
NAME_MIN, NAME_MAX, FIGURES_WIDTH = 16, 60, 56
LEDGER_LIMIT = 200
LEDGER_FIGURES_WIDTH = 54  # the ledger's columns before the note, with borders and padding


def units(value: int, *, zero: str = "-") -> Text:
    return Text(f"{value:,}" if value else zero, justify="right")


def short(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 3] + "..."


class StockScreen(CodspotScreen):
    HELP_TITLE = "Stock"
    BINDINGS = [
        # Priority: the table's own `enter` would otherwise take the key (and its footer slot).
        Binding(
            "enter", "open_ledger", "Ledger", key_display="enter", id="stock.open", priority=True
        ),
        Binding("a", "adjust", "Adjust", id="stock.adjust"),
        Binding("slash", "filter", "Filter", key_display="/", id="stock.filter"),
        Binding("escape", "close", "Close", id="stock.close"),
    ]
    DEFAULT_CSS = """
    StockScreen #stock-filter { dock: top; display: none; }
    StockScreen #stock-filter.-open { display: block; }
    StockScreen #products { height: 1fr; border: round $primary; }
    StockScreen #ledger { height: 1fr; border: round $secondary; display: none; }
    StockScreen #ledger.-open { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[StockLine] = []
        self.ledger_sku: str | None = None  # the product whose ledger is open

    @property
    def figures(self) -> FiguresService:
        return FiguresService(self.services.db, self.services.clock)

    def compose(self) -> ComposeResult:
        yield CodspotHeader()
        yield Input(placeholder="filter by SKU or name", id="stock-filter")
        products: DataTable[str | Text] = DataTable(
            id="products", cursor_type="row", zebra_stripes=True
        )
        products.border_title = "Products"
        yield products
        ledger: DataTable[str | Text] = DataTable(id="ledger", cursor_type="row")
        yield ledger
        yield KeysFooter()

    def on_mount(self) -> None:
        products = self.query_one("#products", DataTable)
        products.add_column("SKU", key="sku")
        products.add_column("Product", key="name")
        products.add_column("On hand", key="on_hand")
        products.add_column("Low at", key="low")
        products.add_column("Out", key="out")
        products.add_column("Return", key="back")
        products.add_column("", key="mark")
        ledger = self.query_one("#ledger", DataTable)
        ledger.add_column("When", key="at")
        ledger.add_column("Units", key="delta")
        ledger.add_column("Reason", key="reason")
        ledger.add_column("Order", key="order")
        ledger.add_column("By", key="actor")
        ledger.add_column("Note", key="note")
        products.focus()
        # Colours are resolved when drawn: draw again in the new theme's colours.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw())

    def redraw(self) -> None:
        self.show_lines()
        if self.ledger_sku is not None:
            self.load_ledger(self.ledger_sku)

    # Loading ------------------------------------------------------------------------------

    def reload(self) -> None:
        self.load_lines()
        if self.ledger_sku is not None:
            self.load_ledger(self.ledger_sku)

    @work(group="stock.lines", exclusive=True, exit_on_error=False)
    async def load_lines(self) -> None:
        self.lines = await self.figures.stock_lines()
        self.show_lines()

    def colour(self, name: str) -> str:
        """A theme colour as Rich understands it: a DataTable cell can't use `$name`."""
        return self.app.theme_variables.get(name, "default")

    def mark_text(self, product: Product) -> Text:
        if product.on_hand <= 0:
            return Text("OUT", style=f"bold {self.colour('error')}")
        if product.is_low:
            return Text("LOW", style=f"bold {self.colour('warning')}")
        return Text("")

    def change_text(self, delta: int) -> Text:
        colour = self.colour("success" if delta > 0 else "error")
        return Text(f"{delta:+,}", style=colour, justify="right")

    def show_lines(self) -> None:
        table = self.query_one("#products", DataTable)
        wanted = self.query_one("#stock-filter", Input).value.strip().lower()
        shown = [
            line
            for line in self.lines
            if not wanted
            or wanted in line.product.sku.lower()
            or wanted in line.product.name.lower()
        ]
        keep = self.selected_sku()
        with self.app.batch_update():
            table.clear()
            for line in shown:
                product = line.product
                table.add_row(
                    cell(product.sku),  # a plain string cell would be read as Rich markup
                    Text(short(one_line(product.name), self.name_width())),
                    units(product.on_hand, zero="0"),
                    units(product.low, zero="0"),
                    units(line.units_out),
                    units(line.units_back),
                    self.mark_text(product),
                    key=product.sku,
                )
            if keep is not None and keep in {line.product.sku for line in shown}:
                table.move_cursor(row=table.get_row_index(keep), animate=False)
        low = sum(1 for line in self.lines if line.product.is_low)
        table.border_subtitle = f"{len(shown)} of {len(self.lines)}" if wanted else ""
        if low:
            table.border_subtitle += ("  " if wanted else "") + f"{low} low"

    def name_width(self) -> int:
        return max(NAME_MIN, min(NAME_MAX, self.size.width - FIGURES_WIDTH))

    def on_resize(self) -> None:
        if self.lines:
            self.show_lines()

    def selected_sku(self) -> str | None:
        table = self.query_one("#products", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
        return None if key.value is None else str(key.value)

    def selected_line(self) -> StockLine | None:
        sku = self.selected_sku()
        return next((line for line in self.lines if line.product.sku == sku), None)

    @work(group="stock.ledger", exclusive=True, exit_on_error=False)
    async def load_ledger(self, sku: str) -> None:
        movements = await self.services.stock.history(sku, limit=LEDGER_LIMIT)
        if self.ledger_sku == sku:  # closed or switched meanwhile: nothing to draw
            self.show_ledger(sku, movements)

    def show_ledger(self, sku: str, movements: list[StockMovement]) -> None:
        table = self.query_one("#ledger", DataTable)
        note_width = max(12, self.size.width - LEDGER_FIGURES_WIDTH)
        with self.app.batch_update():
            table.clear()
            for movement in movements:  # newest first, as the service hands them
                table.add_row(
                    Text(local_time(movement.at)),
                    self.change_text(movement.delta),
                    cell(movement.reason),
                    cell(movement.order_ref or ""),
                    cell(movement.actor.removeprefix("agent:")),
                    Text(short(one_line(movement.note or ""), note_width)),
                )
        more = "  (newest 200)" if len(movements) >= LEDGER_LIMIT else ""
        table.border_title = plain(f"Ledger of {sku}, newest first{more}")
        table.border_subtitle = "" if movements else "no movement yet"

    # Keys ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close":
            filtering = self.query_one("#stock-filter", Input).has_class("-open")
            return self.ledger_sku is not None or filtering
        return True

    def action_open_ledger(self) -> None:
        if self.query_one("#stock-filter", Input).has_focus:
            self.query_one("#products", DataTable).focus()
            return
        sku = self.selected_sku()
        if sku is None:
            return
        self.ledger_sku = sku
        ledger = self.query_one("#ledger", DataTable)
        ledger.add_class("-open")
        ledger.border_title = plain(f"Ledger of {sku}")
        self.load_ledger(sku)
        self.refresh_bindings()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # A click on a product opens its ledger, as `enter` does.
        if event.data_table.id == "products":
            self.action_open_ledger()

    def action_close(self) -> None:
        search = self.query_one("#stock-filter", Input)
        if search.has_class("-open"):
            search.value = ""
            search.remove_class("-open")
            self.show_lines()
        elif self.ledger_sku is not None:
            self.ledger_sku = None
            self.query_one("#ledger", DataTable).remove_class("-open")
        self.query_one("#products", DataTable).focus()
        self.refresh_bindings()

    def action_filter(self) -> None:
        search = self.query_one("#stock-filter", Input)
        search.add_class("-open")
        search.focus()
        self.refresh_bindings()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "stock-filter":
            self.show_lines()

    def action_adjust(self) -> None:
        try:
            require_admin(self.actor, "adjust stock")  # the words StockService.adjust uses
        except NotAdmin as refusal:
            self.notify(str(refusal), title="Stock", severity="warning")
            return
        line = self.selected_line()
        if line is None:
            self.notify("Select a product first", title="Stock")
            return
        sku = line.product.sku

        def done(adjustment: Adjustment | None) -> None:
            if adjustment is not None:
                self.adjust(sku, adjustment)

        self.app.push_screen(AdjustDialog(line.product), done)

    @work(group="stock.adjust", exclusive=True, exit_on_error=False)
    async def adjust(self, sku: str, adjustment: Adjustment) -> None:
        try:
            product = await self.services.stock.adjust(
                self.actor, sku, adjustment.delta, adjustment.reason
            )
        except CodspotError as refusal:
            self.notify(str(refusal), title="Stock", severity="warning", timeout=6)
            return
        self.notify(
            f"{sku}: {adjustment.delta:+,} units, {product.on_hand:,} on hand", title="Stock"
        )
        self.reload()
