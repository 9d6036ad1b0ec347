"""`1`: the confirmation queue. One order at a time, the phone big, one key per outcome.

Opening the screen claims the next order of the agent's queue (a lease, so that no one else
calls the same customer); every outcome releases it and the next order is on screen at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import phonenumbers
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Digits, Static

from ...domain.errors import CodspotError
from ...domain.models import Order, cents_to_decimal
from ...domain.statuses import QUEUE_STATUSES, Confirmation, StatusKind
from ...domain.text import for_terminal
from ...services.orders import OrderEdit
from ...services.queue import QueueCounts
from ...services.status import Move
from ..widgets.call_dialogs import CallLaterDialog, EditOrderDialog, ReasonDialog
from ..widgets.footer import KeysFooter
from ..widgets.header import CodspotHeader
from ..widgets.shown import assemble, one_line, plain
from ..widgets.status import status_text
from ..widgets.timeline import Timeline, local_time
from .base import CodspotScreen


def national(phone: str) -> str:
    """The number as an agent dials it at home ('06 12 34 56 78'), else as stored."""
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


class QueueScreen(CodspotScreen):
    HELP_TITLE = "Confirmation queue"
    BINDINGS = [
        Binding("c", "outcome('confirmed')", "Confirm", id="queue.confirm"),
        Binding("n", "outcome('no_answer')", "No answer", id="queue.no_answer"),
        Binding("l", "call_later", "Later", id="queue.call_later"),
        Binding("x", "cancel_order", "Cancel", id="queue.cancel"),
        Binding("f", "outcome('fake')", "Fake", id="queue.fake"),
        Binding("s", "skip", "Skip", id="queue.skip"),
        Binding("e", "edit", "Edit", id="queue.edit"),
    ]
    DEFAULT_CSS = """
    QueueScreen #card { width: 1fr; border: round $primary; padding: 0 1; }
    QueueScreen #side {
        width: 24; border: round $secondary; padding: 0 1;
        border-title-color: $text-muted; border-title-style: bold;
    }
    QueueScreen #phone { width: auto; color: $accent; }
    QueueScreen #national { color: $text-muted; }
    QueueScreen #flags { color: $warning; }
    QueueScreen .heading { color: $text-muted; text-style: bold; margin-top: 1; }
    QueueScreen #empty { color: $text-muted; padding: 1 2; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.order: Order | None = None
        self.skipped: set[int] = set()  # passed over in this sitting: skip moves on
        self.busy = False  # an outcome is being saved: keys wait, reloads stand aside

    def compose(self) -> ComposeResult:
        yield CodspotHeader()
        with Horizontal():
            with VerticalScroll(id="card"):
                yield Static(id="title")
                yield Digits(id="phone")
                yield Static(id="national")
                yield Static(id="details")
                yield Static(id="flags")
                yield Static("Timeline", classes="heading")
                yield Timeline(id="timeline")
                yield Static("", id="empty")
            with Vertical(id="side") as side:
                side.border_title = "Waiting"
                yield Static(id="counts")
        yield KeysFooter()

    def on_mount(self) -> None:
        lease = timedelta(minutes=self.services.settings.claim_minutes)
        # Renew the claim while the agent is on the call, well before it runs out.
        self.set_interval(lease.total_seconds() / 3, self.renew_claim)

    # Loading ------------------------------------------------------------------------------

    def reload(self) -> None:
        self.refresh_order()

    async def first_load(self) -> None:
        # The first card is in the screen's first paint: claimed before the screen is laid
        # out, instead of painting an empty card first (the agent waits for the card).
        await self.next_order()

    @work(group="queue-load", exclusive=True, exit_on_error=False)
    async def refresh_order(self) -> None:
        """After someone else's change: keep our order if it is still ours to call."""
        if self.busy:
            return  # the outcome being saved brings the next order itself
        if self.order is not None:
            fresh = await self.services.orders.get(self.order.id, with_events=True)
            now = self.services.clock()
            if fresh.confirmation in QUEUE_STATUSES and not fresh.claimed_by_other(
                self.actor.name, now
            ):
                self.show(fresh)
                self.show_counts()
                return
            who = fresh.claimed_by or "someone else"
            self.notify(f"Order {fresh.ref} was handled by {who}: on to the next one")
        await self.next_order()

    async def next_order(self) -> None:
        order = await self.services.queue.claim_next(self.actor, skip=self.skipped)
        if order is None and self.skipped:
            self.skipped.clear()  # everything left was skipped once: go round again
            order = await self.services.queue.claim_next(self.actor)
        if order is not None:
            order = await self.services.orders.get(order.id, with_events=True)
        self.show(order)
        self.show_counts()

    @work(group="queue-counts", exclusive=True, exit_on_error=False)
    async def show_counts(self) -> None:
        # Beside the card, not before it: the first card paints while these are counted.
        counts = await self.services.queue.counts()
        self.query_one("#counts", Static).update(counts_text(counts))

    def show(self, order: Order | None) -> None:
        self.order = order
        card = self.query_one("#card")
        for widget in card.children:
            widget.display = order is not None and widget.id != "empty"
        empty = self.query_one("#empty", Static)
        empty.display = order is None
        if order is None:
            empty.update("Nothing to call right now. New orders appear here by themselves.")
            return
        self.query_one("#title", Static).update(title_text(order))
        self.query_one("#phone", Digits).update(for_terminal(national(order.phone)))
        self.query_one("#national", Static).update(
            plain(f"{order.phone}  {one_line(order.customer)}", "bold")
        )
        self.query_one("#details", Static).update(details_text(order))
        self.query_one(Timeline).show(order.events)
        self.show_flags(order)

    @work(group="queue-flags", exclusive=True, exit_on_error=False)
    async def show_flags(self, order: Order) -> None:
        history = await self.services.orders.phone_history(order)
        flags = []
        if order.duplicate_of:
            flags.append(f"DUPLICATE of {order.duplicate_of}")
        if history.get(Confirmation.FAKE):
            flags.append(f"{history[Confirmation.FAKE]} earlier order(s) marked FAKE")
        if history.get(Confirmation.CANCELED):
            flags.append(f"{history[Confirmation.CANCELED]} canceled before")
        self.query_one("#flags", Static).update(plain("  ".join(flags)))

    @work(group="queue-lease", exclusive=True, exit_on_error=False)
    async def renew_claim(self) -> None:
        if self.order is not None:
            await self.services.queue.claim(self.actor, self.order.id)

    def is_showing(self, order: Order) -> bool:
        """Still the order a dialog was opened for (the card may have been refreshed)."""
        return self.order is not None and self.order.id == order.id

    # Outcomes -----------------------------------------------------------------------------

    def action_outcome(self, status: str) -> None:
        self.record(Confirmation(status))

    def action_call_later(self) -> None:
        if self.order is None:
            return
        order = self.order

        def chosen(moment: datetime | None) -> None:
            if moment is not None and self.is_showing(order):
                self.record(Confirmation.CALL_LATER, callback_at=moment)

        self.app.push_screen(CallLaterDialog(self.services.clock()), chosen)

    def action_cancel_order(self) -> None:
        if self.order is None:
            return
        order = self.order

        def given(reason: str | None) -> None:
            if reason is not None and self.is_showing(order):
                self.record(Confirmation.CANCELED, note=reason or None)

        self.app.push_screen(ReasonDialog(f"Cancel order {order.ref}?"), given)

    def action_edit(self) -> None:
        if self.order is None:
            return
        order = self.order

        def edited(change: OrderEdit | None) -> None:
            if change is not None and self.is_showing(order):
                self.save_edit(order, change)

        self.app.push_screen(EditOrderDialog(order), edited)

    @work(group="queue-act", exit_on_error=False)
    async def save_edit(self, order: Order, change: OrderEdit) -> None:
        async with self.acting():
            try:
                fresh = await self.services.orders.edit(self.actor, order.id, change, order.version)
            except CodspotError as refusal:
                self.notify(str(refusal), severity="warning")
                return
            self.show(fresh)
            self.notify(f"Order {fresh.ref} corrected")

    def action_skip(self) -> None:
        if self.order is not None:
            self.skipped.add(self.order.id)
            self.skip()

    @work(group="queue-act", exit_on_error=False)
    async def skip(self) -> None:
        async with self.acting():
            await self.next_order()

    @work(group="queue-act", exit_on_error=False)
    async def record(
        self, status: Confirmation, *, callback_at: datetime | None = None, note: str | None = None
    ) -> None:
        order = self.order
        if order is None or self.busy:
            return
        async with self.acting():
            move = Move(
                order.id,
                StatusKind.CONFIRMATION,
                status,
                note=note,
                callback_at=callback_at,
                expected_version=order.version,
            )
            try:
                result = await self.services.status.apply(self.actor, move)
            except CodspotError as refusal:
                # Stock short, locked, taken by someone else: the card stays, the reason shows.
                self.notify(str(refusal), severity="warning", timeout=6)
                return
            self.notify(f"{result.ref}: {str(result.status).replace('_', ' ')}", timeout=2)
            # Whoever was just called is not rung again straight away, unless nobody else waits.
            self.skipped.add(order.id)
            await self.next_order()

    @asynccontextmanager
    async def acting(self) -> AsyncIterator[None]:
        self.busy = True
        try:
            yield
        finally:
            self.busy = False


def title_text(order: Order) -> Content:
    parts: list[Content | str | tuple[str, str]] = [
        (order.ref, "bold"),
        "  ",
        status_text(order.confirmation.value),
    ]
    if order.attempts:
        last = f", last {local_time(order.last_attempt_at)}" if order.last_attempt_at else ""
        parts.append(f"  attempt {order.attempts + 1}{last}")
    if order.callback_at:
        parts.append((f"  callback {local_time(order.callback_at)}", "bold"))
    parts.append((f"  {order.source} {local_time(order.created_at)}", "dim"))
    return assemble(*parts)


def details_text(order: Order) -> Content:
    parts: list[Content | str | tuple[str, str]] = [
        (order.city, "bold"),
        f"  {' '.join(order.address.split())}\n",
    ]
    for item in order.items:
        parts.append(f"{item.qty} x {item.sku} @ {cents_to_decimal(item.price_cents)}\n")
    parts.append((f"To collect: {cents_to_decimal(order.total_cents):,} MAD", "bold"))
    parts.append(f"   delivery: {order.delivery}")
    if order.note:
        parts.append((f"\nNote: {' '.join(order.note.split())}", "italic"))
    return assemble(*parts)


def counts_text(counts: QueueCounts) -> str:
    rows = (
        ("Callbacks due", counts.due_callbacks),
        ("New", counts.new),
        ("No answer", counts.no_answer),
        ("Later", counts.later_callbacks),
    )
    return "\n".join(f"{label:<13}{value:>7,}" for label, value in rows)
