"""`a` on the stock view: correct a product's on-hand figure by a number of units, with a reason.

Both fields are checked here with the service's own rules, each error on one line under its
input, so that a typo is fixed in place; the service checks again when it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...domain.models import Product
from ...domain.text import clean_text, for_terminal
from ...services.stock import MAX_UNITS

REASON_MAX = 300  # as StockService.adjust allows


@dataclass(frozen=True)
class Adjustment:
    delta: int
    reason: str


def check_delta(text: str, on_hand: int) -> int:
    """The units typed, or ValueError with a sentence for the person typing."""
    text = text.strip()
    if not text:
        raise ValueError("Type a number of units: 5 adds five, -2 takes two away")
    try:
        delta = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number of units") from None
    if delta == 0:
        raise ValueError("An adjustment of 0 changes nothing")
    if abs(delta) > MAX_UNITS:
        raise ValueError(f"At most {MAX_UNITS:,} units at a time")
    if on_hand + delta < 0:
        raise ValueError(f"Stock can't go below zero: {on_hand} on hand, {delta} would leave it")
    return delta


def check_reason(text: str) -> str:
    try:
        return clean_text(text, "the reason", max_length=REASON_MAX)
    except ValueError as error:
        message = str(error)
        raise ValueError(message[:1].upper() + message[1:]) from None


class AdjustDialog(ModalScreen[Adjustment | None]):
    """Dismisses with the checked `Adjustment`, or None when the person backs out."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="adjust.cancel")]
    DEFAULT_CSS = """
    AdjustDialog { align: center middle; }
    AdjustDialog > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    AdjustDialog Input { margin: 0; }
    AdjustDialog .error { color: $error; height: 1; }
    AdjustDialog #adjust-after { color: $text-muted; height: 1; }
    AdjustDialog Horizontal { height: auto; align-horizontal: right; }
    AdjustDialog Button { min-width: 10; margin-left: 1; }
    """

    def __init__(self, product: Product) -> None:
        super().__init__()
        self.product = product

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content(for_terminal(f"Adjust {self.product.sku}"))
            yield Static(
                Content(for_terminal(f"{self.product.name}: {self.product.on_hand} on hand"))
            )
            yield Label("Units (+ to add, - to remove)")
            yield Input(placeholder="e.g. 5 or -2", type="integer", id="adjust-delta")
            yield Static("", id="adjust-delta-error", classes="error", markup=False)
            yield Label("Reason")
            yield Input(
                placeholder="stock count, breakage, goods received",
                max_length=REASON_MAX,
                id="adjust-reason",
            )
            yield Static("", id="adjust-reason-error", classes="error", markup=False)
            yield Static("", id="adjust-after", markup=False)
            with Horizontal():
                yield Button("Adjust", variant="primary", id="adjust-ok", compact=True)
                yield Button("Cancel", id="adjust-cancel", compact=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        # The error is about what was typed; typing again clears it.
        self.query_one(f"#{event.input.id}-error", Static).update("")
        if event.input.id == "adjust-delta":
            after = self.query_one("#adjust-after", Static)
            try:
                delta = int(event.value)
            except ValueError:
                after.update("")
            else:
                after.update(f"On hand after: {self.product.on_hand + delta}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "adjust-delta":
            self.query_one("#adjust-reason", Input).focus()
        else:
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "adjust-ok":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def submit(self) -> None:
        delta_input = self.query_one("#adjust-delta", Input)
        reason_input = self.query_one("#adjust-reason", Input)
        delta = reason = None
        try:
            delta = check_delta(delta_input.value, self.product.on_hand)
        except ValueError as error:
            self.query_one("#adjust-delta-error", Static).update(str(error))
        try:
            reason = check_reason(reason_input.value)
        except ValueError as error:
            self.query_one("#adjust-reason-error", Static).update(str(error))
        if delta is None:
            delta_input.focus()
        elif reason is None:
            reason_input.focus()
        else:
            self.dismiss(Adjustment(delta, reason))
