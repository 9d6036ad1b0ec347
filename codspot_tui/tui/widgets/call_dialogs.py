"""Dialogs of the confirmation queue: when to call back, why it was canceled, what to correct."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from ...domain.models import Order
from ...domain.text import for_terminal
from ...services.orders import OrderEdit
from .shown import plain

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 60; max-width: 95%; height: auto; max-height: 95%;
    border: round $primary; background: $surface; padding: 0 1;
}}
{name} .problem {{ color: $error; height: auto; }}
{name} Input {{ margin: 0 0 0 0; }}
{name} Horizontal {{ height: auto; }}
"""


def parse_callback(text: str, now: datetime) -> datetime:
    """'16:30' (today, or tomorrow if past), '+45' minutes, or an ISO date and time."""
    text = text.strip()
    local_now = now.astimezone()
    if text.startswith("+") and text[1:].isdigit():
        return now + timedelta(minutes=int(text[1:]))
    try:
        clock = datetime.strptime(text, "%H:%M").time()
    except ValueError:
        pass
    else:
        moment = local_now.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
        return moment if moment > local_now else moment + timedelta(days=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("say 16:30, +45 (minutes) or 2026-12-01 10:00") from None
    return moment if moment.tzinfo else moment.astimezone()


def callback_presets(now: datetime) -> list[tuple[str, datetime]]:
    local = now.astimezone()
    tomorrow = (local + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    return [
        ("in 30 minutes", now + timedelta(minutes=30)),
        ("in 2 hours", now + timedelta(hours=2)),
        (f"tomorrow 10:00 ({tomorrow:%a %d})", tomorrow),
    ]


class CallLaterDialog(ModalScreen[datetime | None]):
    """Pick a preset or type a time; returns the callback time, or None when dismissed."""

    BINDINGS = [Binding("escape", "cancel", "Back", id="dialog.cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="CallLaterDialog")

    def __init__(self, now: datetime) -> None:
        super().__init__()
        self.now = now
        self.presets = callback_presets(now)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Call back when?[/b]")
            yield OptionList(
                *(Option(label, id=str(n)) for n, (label, _) in enumerate(self.presets)),
                id="presets",
            )
            yield Input(placeholder="or type: 16:30, +45, 2026-12-01 10:00", id="typed")
            yield Label("", classes="problem", id="problem")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.presets[int(event.option.id or 0)][1])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            moment = parse_callback(event.value, self.now)
        except ValueError as error:
            self.query_one("#problem", Label).update(str(error))
            return
        if moment <= self.now:
            self.query_one("#problem", Label).update("that time has passed")
            return
        self.dismiss(moment)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReasonDialog(ModalScreen[str | None]):
    """An optional reason (enter with nothing is fine); None only when dismissed."""

    BINDINGS = [Binding("escape", "cancel", "Back", id="dialog.cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="ReasonDialog")

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(plain(self.question, "bold"))
            yield Input(placeholder="reason (optional), enter to confirm", id="reason")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class EditOrderDialog(ModalScreen[OrderEdit | None]):
    """Correct phone, city, address and quantities while the customer is on the line."""

    BINDINGS = [Binding("escape", "cancel", "Back", id="dialog.cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="EditOrderDialog")

    def __init__(self, order: Order) -> None:
        super().__init__()
        self.order = order

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(plain(f"Correct order {self.order.ref}", "bold"))
            # Shown escaped, as everywhere: a field left as it was is not saved (see _save).
            yield Input(for_terminal(self.order.phone), placeholder="phone", id="phone")
            yield Input(for_terminal(self.order.city), placeholder="city", id="city")
            yield Input(for_terminal(self.order.address), placeholder="address", id="address")
            for line, item in enumerate(self.order.items, start=1):
                with Horizontal():
                    yield Label(plain(f"{item.sku} qty "))
                    yield Input(str(item.qty), id=f"qty-{line}", type="integer")
            yield Label("", classes="problem", id="problem")
            with Horizontal():
                yield Button("Save", variant="primary", id="save")
                yield Button("Back", id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            self.dismiss(None)
        else:
            self._save()

    def on_input_submitted(self) -> None:
        self._save()

    def _save(self) -> None:
        def value(name: str) -> str:
            return self.query_one(f"#{name}", Input).value.strip()

        quantities: dict[int, int] = {}
        for line, item in enumerate(self.order.items, start=1):
            text = value(f"qty-{line}")
            if not text.isdigit() or int(text) < 1:
                self.query_one("#problem", Label).update(
                    plain(f"{item.sku}: a quantity of 1 or more")
                )
                return
            if int(text) != item.qty:
                quantities[line] = int(text)
        phone, city, address = value("phone"), value("city"), value("address")
        self.dismiss(
            OrderEdit(
                phone=phone if phone != for_terminal(self.order.phone) else None,
                city=city if city != for_terminal(self.order.city) else None,
                address=address if address != for_terminal(self.order.address) else None,
                quantities=quantities,
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
