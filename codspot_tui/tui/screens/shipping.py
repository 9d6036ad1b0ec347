"""`2`: the shipping board. Confirmed orders by shipping status, a page at a time.

The list is a window over the store: keyset pages of `PAGE` orders, the next one fetched as
the cursor nears the end; a reload fetches again only what was loaded (at most `MAX_RELOAD`).
Counts per status come from one grouped query. Moves go through the status service in one
batch; what the menu offers comes from the rules tables for who is at the keyboard.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from time import monotonic

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.theme import Theme
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...domain.models import Order
from ...domain.statuses import Shipping, StatusKind
from ...services.polling import last_carrier_events, poll_now, shipping_counts
from ...services.status import Move
from ..widgets.board_filter import ALL, BoardFilter, parse_filter
from ..widgets.board_table import BoardTable
from ..widgets.footer import KeysFooter
from ..widgets.header import CodspotHeader
from ..widgets.move_menu import (
    MoveChoice,
    MoveMenu,
    common_forced_moves,
    common_moves,
    describe,
    in_table_order,
    moves_summary,
)
from ..widgets.shown import plain
from .base import CodspotScreen
from .order_detail import OrderDetailScreen

PAGE = 50  # orders per keyset page: two screenfuls at 80x24, and each row costs to draw
NEAR_END = 20  # rows before the end at which the next page is fetched
MAX_RELOAD = 1000  # a reload fetches what was loaded, up to this many rows
COUNT_EVERY = 3.0  # seconds between two counts per status when others make changes


class ShippingScreen(CodspotScreen):
    HELP_TITLE = "Shipping board"
    count_every = COUNT_EVERY
    BINDINGS = [
        Binding("enter", "open", "Open", key_display="enter", id="shipping.open"),
        Binding("space", "mark", "Mark", id="shipping.mark"),
        Binding("m", "moves", "Move", id="shipping.moves"),
        Binding("slash", "filter", "Filter", key_display="/", id="shipping.filter"),
        Binding("r", "poll", "Poll now", id="shipping.poll"),
        Binding("s", "statuses", "Statuses", show=False, id="shipping.statuses"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="shipping.clear"),
    ]
    DEFAULT_CSS = """
    ShippingScreen #side { width: 22; background: $panel; }
    ShippingScreen #statuses {
        height: auto; border: none; padding: 0 1; background: $panel;
    }
    ShippingScreen #statuses:focus { background-tint: $foreground 5%; }
    ShippingScreen #summary { padding: 1 1 0 1; color: $text-muted; }
    ShippingScreen BoardTable { height: 1fr; }
    ShippingScreen #filter { dock: bottom; display: none; }
    ShippingScreen #filter.open { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.board = BoardFilter()
        self.orders: list[Order] = []
        self.heard: dict[int, datetime] = {}  # last carrier event time, by order id
        self.marked: set[int] = set()
        self.counts: dict[str, int] = {}
        self.has_more = False
        self._generation = 0  # bumped by each reload: a late next page is then dropped
        self._drawn: dict[int, tuple[Order, datetime | None, bool]] = {}  # by order id
        self._stale = False  # changes came while a fetch was in flight
        self._counted_at = float("-inf")
        self._count_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield CodspotHeader()
        with Horizontal():
            with Vertical(id="side"):
                yield OptionList(
                    *(Option(label, id=key) for key, label in self._status_labels()),
                    id="statuses",
                )
                yield Static(id="summary")
            yield BoardTable(id="board")
        yield Input(
            placeholder="text  carrier:NAME  city:NAME  status:NAME   enter apply, escape clear",
            id="filter",
        )
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one(BoardTable)
        table.focus()
        self.query_one("#statuses", OptionList).highlighted = 0
        self.watch(table, "scroll_y", self._scrolled, init=False)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    # Loading ------------------------------------------------------------------------------

    def reload(self) -> None:
        """Someone committed: fetch again what is loaded, but never pile fetches up.

        A fetch in flight is not cancelled (SQLite would finish its query anyway, and on a
        slow filter a burst of changes would then starve the screen): one more follows it.
        """
        if self._busy("shipping-page"):
            self._stale = True
        else:
            self.load_page()

    def _busy(self, group: str) -> bool:
        return any(
            worker.node is self and worker.group == group and not worker.is_finished
            for worker in self.app.workers
        )

    @work(group="shipping-page", exclusive=True, exit_on_error=False)
    async def load_page(self, *, from_top: bool = False, count_now: bool = False) -> None:
        """The first page again, or as many rows as were loaded (the cursor and marks stay)."""
        self._stale = True
        while self._stale:  # changes that came while fetching: fetch once more
            self._stale = False
            await self._fetch(from_top=from_top)
            from_top = False
        if count_now:
            self.count_now()
        else:
            self._count_soon()

    async def first_load(self) -> None:
        # The first page is in the board's first paint: fetched before the screen is laid out
        # (a few milliseconds, by index), instead of painting an empty table, then again.
        try:
            await self._fetch(from_top=True)
        finally:
            self._count_soon()

    async def _fetch(self, *, from_top: bool) -> None:
        self._generation += 1
        want = PAGE if from_top else min(max(PAGE, len(self.orders)), MAX_RELOAD)
        orders = await self.services.orders.page(self.board.orders(), limit=want)
        heard = await last_carrier_events(self.services.db, [order.id for order in orders])
        self.has_more = len(orders) == want
        self.heard = heard
        self._show(orders, from_top=from_top)

    def count_now(self) -> None:
        if self._count_timer is not None:
            self._count_timer.stop()
            self._count_timer = None
        self.load_counts()

    def _count_soon(self) -> None:
        """Counting a million orders is the costliest read here: at most every `count_every`."""
        if self._count_timer is not None:
            return  # one is planned already
        wait = self._counted_at + self.count_every - monotonic()
        if wait <= 0:
            self.count_now()
        else:
            self._count_timer = self.set_timer(wait, self._count_due)

    def _count_due(self) -> None:
        self._count_timer = None
        if self.is_current:  # a hidden board counts again when it comes back
            self.load_counts()

    @work(group="shipping-more", exclusive=True, exit_on_error=False)
    async def load_more(self) -> None:
        if not self.orders or not self.has_more:
            return
        generation, last = self._generation, self.orders[-1].id
        orders = await self.services.orders.page(self.board.orders(), before_id=last, limit=PAGE)
        heard = await last_carrier_events(self.services.db, [order.id for order in orders])
        if generation != self._generation or not self.orders or self.orders[-1].id != last:
            return  # a reload replaced the list meanwhile; it decides what comes next
        self.has_more = len(orders) == PAGE
        self.heard.update(heard)
        self._show(self.orders + orders)

    @work(group="shipping-counts", exclusive=True, exit_on_error=False)
    async def load_counts(self) -> None:
        self._counted_at = monotonic()
        self.counts = await shipping_counts(
            self.services.db,
            delivery=self.board.carrier,
            city=self.board.city,
            search=self.board.text,
        )
        statuses = self.query_one("#statuses", OptionList)
        for index, (_, label) in enumerate(self._status_labels()):
            statuses.replace_option_prompt_at_index(index, label)
        self._show_summary()

    def _status_labels(self) -> list[tuple[str, Content]]:
        total = sum(self.counts.values())
        labels = [(ALL, Content.styled(f"{'all':<13}{total:>7,}", "bold"))]
        for status in Shipping:
            name = status.value.replace("_", " ")
            line = Content(f"{name:<13}{self.counts.get(status.value, 0):>7,}")
            labels.append((status.value, line.stylize(f"bold $status-{status}", 0, len(name))))
        return labels

    # Drawing ------------------------------------------------------------------------------

    def _show(self, orders: list[Order], *, from_top: bool = False) -> None:
        """Put `orders` in the table, touching as few rows as it can."""
        table = self.query_one(BoardTable)
        cursor_id = self.current_id()
        cursor_row, top = table.cursor_row, table.scroll_y
        drawn = self._drawn
        self.orders = orders
        self.marked &= {order.id for order in orders}
        self._drawn = {order.id: self._signature(order) for order in orders}
        kept = [order.id for order in orders if order.id in drawn]
        added = [order.id for order in orders if order.id not in drawn]
        gone = drawn.keys() - self._drawn.keys()
        # The table only appends: a row that belongs above a kept one means drawing anew;
        # so do many rows gone (each removal renumbers every row).
        if from_top or len(gone) > PAGE or (added and (not kept or max(added) > min(kept))):
            self._rebuild(table, cursor_id, cursor_row, top, from_top=from_top)
        else:
            with self.app.batch_update():
                for order_id in gone:
                    table.remove_row(str(order_id))
                for order in orders:
                    if order.id not in drawn or drawn[order.id] != self._drawn[order.id]:
                        self._draw(table, order)
            # Rows gone above the cursor would slide it onto another order: follow ours.
            if cursor_id in self._drawn:
                row = table.get_row_index(str(cursor_id))
                if row != table.cursor_row:
                    table.move_cursor(row=row)
        self._show_summary()

    def _signature(self, order: Order) -> tuple[Order, datetime | None, bool]:
        """Everything a row shows: when it is unchanged, the row is left alone."""
        return order, self.heard.get(order.id), order.id in self.marked

    def _rebuild(
        self,
        table: BoardTable,
        cursor_id: int | None,
        cursor_row: int,
        top: float,
        *,
        from_top: bool,
    ) -> None:
        with self.app.batch_update():
            table.clear()
            for order in self.orders:
                self._draw(table, order)
        if from_top or not self.orders:
            return
        ids = [order.id for order in self.orders]
        row = ids.index(cursor_id) if cursor_id in ids else min(cursor_row, len(ids) - 1)
        # Keep the cursor on the same line of the screen: the list does not jump.
        offset = cursor_row - top
        table.move_cursor(row=row, scroll=False)
        table.call_after_refresh(table.scroll_to, y=max(0, row - offset), animate=False)

    def _draw(self, table: BoardTable, order: Order) -> None:
        table.draw(
            order,
            heard=self.heard.get(order.id),
            marked=order.id in self.marked,
            colours=self.app.theme_variables,
        )

    def _show_summary(self) -> None:
        lines = []
        if self.board.carrier:
            lines.append(f"carrier {self.board.carrier}")
        if self.board.city:
            lines.append(f"city {self.board.city}")
        if self.board.text:
            lines.append(f"text {self.board.text!r}")
        shown = f"{len(self.orders)}{'+' if self.has_more else ''} shown"
        lines.append(shown)
        if self.marked:
            lines.append(f"{len(self.marked)} marked")
        self.query_one("#summary", Static).update(plain("\n".join(lines)))  # typed: not markup

    def _theme_changed(self, theme: Theme) -> None:
        table = self.query_one(BoardTable)
        for order in self.orders:
            self._draw(table, order)

    def _scrolled(self, scroll_y: float) -> None:
        # The mouse wheel scrolls without moving the cursor: look at the last row on show.
        self._maybe_more(int(scroll_y) + self.query_one(BoardTable).size.height)

    def on_board_table_row_highlighted(self, event: BoardTable.RowHighlighted) -> None:
        self._maybe_more(event.cursor_row)

    def _maybe_more(self, row: int) -> None:
        if self.has_more and row >= len(self.orders) - NEAR_END:
            self.load_more()

    # The cursor and the marks -------------------------------------------------------------

    def current_id(self) -> int | None:
        table = self.query_one(BoardTable)
        if not self.orders or not table.is_valid_row_index(table.cursor_row):
            return None
        return self.orders[table.cursor_row].id

    def chosen(self) -> list[Order]:
        """The marked orders, or else the one under the cursor."""
        if self.marked:
            return [order for order in self.orders if order.id in self.marked]
        current = self.current_id()
        return [order for order in self.orders if order.id == current]

    def action_mark(self) -> None:
        table = self.query_one(BoardTable)
        current = self.current_id()
        if current is None:
            return
        self.marked ^= {current}
        self._show(self.orders)
        if table.cursor_row < len(self.orders) - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_open(self) -> None:
        current = self.current_id()
        if current is not None:
            self.app.push_screen(OrderDetailScreen(current))

    def action_statuses(self) -> None:
        self.query_one("#statuses", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        picked = event.option.id
        self.board = replace(self.board, status=None if picked == ALL else Shipping(str(picked)))
        self.query_one(BoardTable).focus()
        self.load_page(from_top=True)

    # Filter -------------------------------------------------------------------------------

    def action_filter(self) -> None:
        typed = self.query_one("#filter", Input)
        typed.value = self.board.typed()
        typed.add_class("open")
        typed.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            board = parse_filter(event.value, self.board)
        except ValueError as error:
            self.notify(str(error), severity="warning")
            return
        self._close_filter()
        self._filter_by(board)

    def action_clear_filter(self) -> None:
        """Escape: close and clear the filter; with no filter, drop the marks."""
        typed = self.query_one("#filter", Input)
        was_open = typed.has_class("open")
        self._close_filter()
        cleared = BoardFilter(status=self.board.status)
        if cleared != self.board:
            self._filter_by(cleared)
        elif not was_open and self.marked:
            self.marked.clear()
            self._show(self.orders)

    def _close_filter(self) -> None:
        typed = self.query_one("#filter", Input)
        typed.remove_class("open")
        self.query_one(BoardTable).focus()

    def _filter_by(self, board: BoardFilter) -> None:
        status_changed = board.status != self.board.status
        # The counts are per status: only the other filters change them.
        counted_differently = replace(board, status=None) != replace(self.board, status=None)
        self.board = board
        if status_changed:
            key = ALL if board.status is None else board.status.value
            statuses = self.query_one("#statuses", OptionList)
            statuses.highlighted = statuses.get_option_index(key)
        self.load_page(from_top=True, count_now=counted_differently)

    # Moves --------------------------------------------------------------------------------

    def action_moves(self) -> None:
        orders = self.chosen()
        if not orders:
            return
        targets = in_table_order(common_moves(orders, self.actor))
        forced = in_table_order(common_forced_moves(orders, self.actor))
        what = describe(orders)
        if not targets and not forced:
            self.notify(f"No move is open to you for {what}", severity="warning")
            return

        def picked(choice: MoveChoice | None) -> None:
            if choice is not None:
                self.apply_moves(orders, choice)

        self.app.push_screen(MoveMenu(what, targets, forced), picked)

    @work(group="shipping-moves", exclusive=True, exit_on_error=False)
    async def apply_moves(self, orders: list[Order], choice: MoveChoice) -> None:
        moves = [
            Move(
                order.id,
                StatusKind.SHIPPING,
                choice.to,
                note=choice.note,
                force=choice.force,
                expected_version=order.version,
            )
            for order in orders
        ]
        results = await self.services.status.apply_batch(self.actor, moves)
        self.marked -= {result.order_id for result in results if result.applied}
        refused = [result for result in results if not result.applied]
        self.notify(
            moves_summary(results),
            severity="warning" if refused else "information",
            timeout=8 if refused else 4,
        )
        self.load_page(count_now=True)

    # Polling ------------------------------------------------------------------------------

    def action_poll(self) -> None:
        self.ask_for_poll(sorted(self.marked) or None)

    @work(group="shipping-poll", exclusive=True, exit_on_error=False)
    async def ask_for_poll(self, order_ids: list[int] | None) -> None:
        count = await poll_now(self.services.db, order_ids, self.services.clock)
        which = "marked " if order_ids else ""
        if count:
            self.notify(f"The worker polls {count} {which}parcel(s) on its next round")
        else:
            self.notify(
                f"No {which}parcel to poll: local, not at the carrier yet, or done",
                severity="warning",
            )
