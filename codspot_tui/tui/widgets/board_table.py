"""The shipping board's table, drawn a line at a time (Textual's Line API).

Textual's DataTable renders each cell through Rich on every paint: one screenful took about
70 ms, the board's whole budget for opening, and as long again after each focus change.
Here a row is one segment per cell, cut to its column's width: a screenful costs a
millisecond or two, so nothing is cached and every paint draws what is there now.

The first columns (the mark and the ref) stay put while the rest scrolls sideways; the header
stays put while the rows scroll. Statuses come in their theme colour: cells are Rich Texts,
which know nothing of Textual's `$status-NAME` variables, so the colours are looked up in
the theme by the caller (and again when the theme changes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...domain.models import Order, cents_to_decimal
from . import shown
from .timeline import local_time

# (key, header, width). The shipping status comes right after the fixed columns, so that
# 80 columns always show it.
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
FIXED_COLUMNS = 2
PADDING = 1  # blank cells either side of each column
HEADER = tuple(Text(label, style="bold") for _, label, _ in COLUMNS)


class BoardTable(ScrollView, can_focus=True):
    """One row per order, a row cursor, zebra stripes; rows are kept by key (the order id)."""

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False, id="board.up"),
        Binding("down", "cursor_down", "Down", show=False, id="board.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="board.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="board.page_down"),
        Binding("home,ctrl+home", "first", "First", show=False, id="board.first"),
        Binding("end,ctrl+end", "last", "Last", show=False, id="board.last"),
        Binding("left", "column_left", "Columns left", show=False, id="board.left"),
        Binding("right", "column_right", "Columns right", show=False, id="board.right"),
    ]
    COMPONENT_CLASSES = {
        "board-table--header",
        "board-table--even-row",
        "board-table--cursor",
    }
    DEFAULT_CSS = """
    BoardTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .board-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .board-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .board-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .board-table--even-row {
            background: $surface-lighten-1 50%;
        }
        &:dark > .board-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .board-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowHighlighted(Message):
        """The cursor is on another row."""

        def __init__(self, table: BoardTable, cursor_row: int) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row

        @property
        def control(self) -> BoardTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: list[str] = []
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._index: dict[str, int] = {}
        self._cursor = 0
        # Where each column starts in the scrolling part (after the fixed columns).
        widths = [width + 2 * PADDING for _, _, width in COLUMNS]
        self._fixed_width = sum(widths[:FIXED_COLUMNS])
        self._stops = [sum(widths[FIXED_COLUMNS:i]) for i in range(FIXED_COLUMNS, len(widths))]
        self._total_width = sum(widths)
        self._resize_rows()

    # Rows ---------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    def is_valid_row_index(self, row: int) -> bool:
        return 0 <= row < len(self._keys)

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def get_row(self, key: str) -> list[Text]:
        return list(self._cells[key])

    def get_row_at(self, row: int) -> list[Text]:
        return list(self._cells[self._keys[row]])

    def add_row(self, *cells: Text, key: str) -> None:
        if key in self._cells:
            raise ValueError(f"the board already has a row {key!r}")
        self._check(cells)
        self._index[key] = len(self._keys)
        self._keys.append(key)
        self._cells[key] = cells
        self._resize_rows()
        if len(self._keys) == 1:
            self._highlighted()

    def update_row(self, key: str, cells: Sequence[Text]) -> None:
        self._check(cells)
        self._cells[key] = tuple(cells)
        self.refresh()

    def remove_row(self, key: str) -> None:
        row = self._index.pop(key)
        del self._keys[row], self._cells[key]
        for later in self._keys[row:]:
            self._index[later] -= 1
        self._resize_rows()
        if row < self._cursor or self._cursor >= len(self._keys):
            self.move_cursor(row=max(0, self._cursor - 1), scroll=False)

    def clear(self) -> None:
        self._keys.clear()
        self._cells.clear()
        self._index.clear()
        self._cursor = 0
        self._resize_rows()
        self.scroll_to(0, 0, animate=False, immediate=True)

    def draw(
        self, order: Order, *, heard: datetime | None, marked: bool, colours: dict[str, str]
    ) -> None:
        """Put `order` in its row (added at the end if it has none yet)."""
        key = str(order.id)
        cells = order_cells(order, heard=heard, marked=marked, colours=colours)
        if key in self._cells:
            self.update_row(key, cells)
        else:
            self.add_row(*cells, key=key)

    def _check(self, cells: Sequence[Text]) -> None:
        if len(cells) != len(COLUMNS):
            raise ValueError(f"a board row has {len(COLUMNS)} cells, not {len(cells)}")

    def _resize_rows(self) -> None:
        self.virtual_size = Size(self._total_width, len(self._keys) + 1)  # + the header
        self.refresh()

    # The cursor ---------------------------------------------------------------------------

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        row = max(0, min(row, len(self._keys) - 1))
        moved = row != self._cursor
        self._cursor = row
        self.refresh()
        if scroll:
            self._show_cursor()
        if moved:
            self._highlighted()

    def _highlighted(self) -> None:
        self.post_message(self.RowHighlighted(self, self._cursor))

    def _show_cursor(self) -> None:
        """Scroll so that the cursor's row is in view, below the header."""
        shown = self._rows_shown()
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + shown:
            self.scroll_to(y=self._cursor - shown + 1, animate=False, immediate=True)

    def _rows_shown(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self._cursor - self._rows_shown())

    def action_page_down(self) -> None:
        self.move_cursor(row=self._cursor + self._rows_shown())

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self._keys) - 1)

    def action_column_right(self) -> None:
        x = round(self.scroll_x)
        self.scroll_to(x=next((s for s in self._stops if s > x), x), animate=False)

    def action_column_left(self) -> None:
        x = round(self.scroll_x)
        self.scroll_to(x=max((s for s in self._stops if s < x), default=0), animate=False)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:  # not the header
            row = round(self.scroll_y) + event.y - 1
            if self.is_valid_row_index(row):
                self.move_cursor(row=row)

    # Drawing ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = style = self.rich_style
        over = Style()
        if y == 0:
            cells: Sequence[Text] = HEADER
            style = base + self.get_component_rich_style("board-table--header")
        else:
            row = round(self.scroll_y) + y - 1
            if not self.is_valid_row_index(row):
                return Strip.blank(width, base)
            cells = self._cells[self._keys[row]]
            if row == self._cursor:
                # The cursor's colours win over the cells' own (a status on the cursor bar).
                cursor = self.get_component_rich_style("board-table--cursor")
                style, over = base + cursor, Style(color=cursor.color, bgcolor=cursor.bgcolor)
            elif row % 2:
                style = base + self.get_component_rich_style("board-table--even-row")
        fixed = Strip(_segments(cells[:FIXED_COLUMNS], COLUMNS[:FIXED_COLUMNS], style, over))
        rest = Strip(_segments(cells[FIXED_COLUMNS:], COLUMNS[FIXED_COLUMNS:], style, over))
        scroll_x = round(self.scroll_x)
        rest = rest.crop(scroll_x, scroll_x + max(0, width - self._fixed_width))
        return Strip.join([fixed, rest]).extend_cell_length(width, style).crop(0, width)


def _segments(
    cells: Iterable[Text], columns: Iterable[tuple[str, str, int]], row: Style, over: Style
) -> list[Segment]:
    """Each cell cut or padded to its column: the row's style, then the cell's, then `over`."""
    pad = " " * PADDING
    segments = []
    for cell, (_, _, width) in zip(cells, columns, strict=True):
        text = cell.plain
        if cell.justify == "right" and cell_len(text) < width:
            text = " " * (width - cell_len(text)) + text
        style = row + _style(cell.style) + over
        segments.append(Segment(pad + set_cell_size(text, width) + pad, style))
    return segments


def _style(style: str | Style) -> Style:
    return Style.parse(style) if isinstance(style, str) else style  # parse is cached


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
        shown.cell(order.ref, style="bold"),
        state,
        shown.cell(order.customer),
        shown.cell(order.city),
        shown.cell(order.delivery),
        shown.cell(order.tracking or "-"),
        shown.cell(order.sync or "-", style=sync_style),
        Text(local_time(heard) if heard else "-"),
        Text(f"{cents_to_decimal(order.total_cents):,}", justify="right"),
    )
