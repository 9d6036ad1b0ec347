"""The moves dialog of the shipping board: only the moves every chosen order allows you.

What is offered comes from the tables of `domain.rules`, for who is at the keyboard and each
order's delivery mode; the service checks again when the moves are applied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ...domain.models import Actor, Order
from ...domain.rules import Mover, allowed_targets
from ...domain.statuses import Shipping, StatusKind
from ...services.status import MoveResult
from .shown import one_line
from .status import status_text

FORCE = "force"

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 56; max-width: 95%; height: auto; max-height: 95%;
    border: round $primary; background: $surface; padding: 0 1;
}}
{name} OptionList {{ height: auto; max-height: 12; }}
{name} .hint {{ color: $text-muted; }}
{name} .problem {{ color: $error; height: auto; }}
"""


@dataclass(frozen=True)
class MoveChoice:
    """What the operator picked: a target, and for a forced move its mandatory note."""

    to: Shipping
    force: bool = False
    note: str | None = None


def _common(orders: Sequence[Order], mover_of: Callable[[Order], Mover]) -> frozenset[Shipping]:
    """The targets all of `orders` share; none when one of them has no shipping status yet."""
    targets: frozenset[Shipping] | None = None
    for order in orders:
        if order.shipping is None:
            return frozenset()
        found = allowed_targets(StatusKind.SHIPPING, order.shipping, mover_of(order))
        allowed = frozenset(Shipping(status) for status in found)
        targets = allowed if targets is None else targets & allowed
    return targets or frozenset()


def common_moves(orders: Sequence[Order], actor: Actor) -> frozenset[Shipping]:
    """Shipping statuses every one of `orders` may be moved to by `actor`, unforced."""
    return _common(orders, lambda order: actor.mover_for(order.delivery, force=False))


def common_forced_moves(orders: Sequence[Order], actor: Actor) -> frozenset[Shipping]:
    """What an admin may force on every one of `orders`; nothing for anyone else."""
    if not actor.is_admin:
        return frozenset()
    return _common(orders, lambda order: Mover.FORCE)


def moves_summary(results: list[MoveResult]) -> str:
    """`3 moved, 1 refused: Order R7: ...` for people, the first reason only once."""
    moved = sum(result.applied for result in results)
    refused = [result for result in results if not result.applied]
    text = f"{moved} moved"
    if refused:
        reasons = list(dict.fromkeys(result.reason or "refused" for result in refused))
        more = f" (and {len(reasons) - 1} other reason(s))" if len(reasons) > 1 else ""
        text += f", {len(refused)} refused: {reasons[0]}{more}"
    return text


def in_table_order(statuses: frozenset[Shipping]) -> list[Shipping]:
    return [status for status in Shipping if status in statuses]


def describe(orders: Sequence[Order]) -> str:
    """`2 orders (1 created, 1 fulfilled)` or `order R00012 (created)`."""
    by_status = Counter(str(order.shipping) for order in orders)
    states = ", ".join(
        f"{count} {status.replace('_', ' ')}" if len(orders) > 1 else status.replace("_", " ")
        for status, count in sorted(by_status.items())
    )
    if len(orders) == 1:
        return f"order {orders[0].ref} ({states})"
    return f"{len(orders)} orders ({states})"


class MoveMenu(ModalScreen[MoveChoice | None]):
    """Pick one of `targets`; `force...` (admins) leads to the forced move with a note."""

    BINDINGS = [Binding("escape", "cancel", "Back", id="moves.cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="MoveMenu")

    def __init__(self, what: str, targets: list[Shipping], forced: list[Shipping]) -> None:
        super().__init__()
        self.what = what
        self.targets = targets
        self.forced = forced

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble("Move ", (one_line(self.what), "bold"), " to:"))
            options = [Option(status_text(s.value), id=s.value) for s in self.targets]
            if self.forced:
                options.append(
                    Option(Text("force... (admin, with a note)", style="italic"), id=FORCE)
                )
            yield OptionList(*options, id="targets")
            yield Label("enter to apply, escape to go back", classes="hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id == FORCE:
            self.app.push_screen(ForceMoveDialog(self.what, self.forced), self._forced)
        elif event.option.id is not None:
            self.dismiss(MoveChoice(Shipping(event.option.id)))

    def _forced(self, choice: MoveChoice | None) -> None:
        if choice is not None:
            self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ForceMoveDialog(ModalScreen[MoveChoice | None]):
    """An admin's override of the tables: a target, then the note the audit keeps."""

    BINDINGS = [Binding("escape", "cancel", "Back", id="moves.force_cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="ForceMoveDialog")

    def __init__(self, what: str, targets: list[Shipping]) -> None:
        super().__init__()
        self.what = what
        self.targets = targets

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble("Force ", (one_line(self.what), "bold"), " to:"))
            yield OptionList(
                *(Option(status_text(s.value), id=s.value) for s in self.targets), id="forced"
            )
            yield Input(placeholder="why (required, kept in the timeline)", id="note")
            yield Label("pick a status, type the note, enter", classes="hint")
            yield Label("", classes="problem", id="problem")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        note = " ".join(event.value.split())
        highlighted = self.query_one("#forced", OptionList).highlighted_option
        problem = self.query_one("#problem", Label)
        if highlighted is None or highlighted.id is None:
            problem.update("pick the status to force")
        elif not note:
            problem.update("a forced move needs a note")
        else:
            self.dismiss(MoveChoice(Shipping(highlighted.id), force=True, note=note))

    def action_cancel(self) -> None:
        self.dismiss(None)
