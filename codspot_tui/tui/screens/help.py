"""`?`: every key of the screen underneath, read from its bindings."""

from __future__ import annotations

from typing import NamedTuple

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class KeyLine(NamedTuple):
    key: str  # as the user sees it, after any remapping
    description: str
    action: str


def key_lines(screen: Screen[object]) -> list[KeyLine]:
    """Every binding active on `screen`, app keys included, one line per action."""
    seen: dict[str, KeyLine] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.action in seen or not binding.description:
            continue
        key = screen.app.get_key_display(binding)
        seen[binding.action] = KeyLine(key, binding.description, binding.action)
    return sorted(seen.values(), key=lambda line: line.description.lower())


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 60; max-width: 90%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, title: str, lines: list[KeyLine]) -> None:
        super().__init__()
        self.help_title = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"[b]{self.help_title}[/b]  (escape to close)")
            width = max((len(line.key) for line in self.lines), default=4)
            yield Static(
                "\n".join(f"{line.key:>{width}}  {line.description}" for line in self.lines),
                markup=False,
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
