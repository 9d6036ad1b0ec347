"""`?`: every key of the screen underneath, read from its bindings, in three groups: the
screen's own keys, the keys that move between screens, and the app's."""

from __future__ import annotations

from typing import NamedTuple

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

THIS_SCREEN, BETWEEN_SCREENS, APP = "This screen", "Moving between screens", "App"
GROUPS = (THIS_SCREEN, BETWEEN_SCREENS, APP)


# Arrow keys by name: Textual draws them as arrows, which fonts common over SSH lack.
ARROWS = ("up", "down", "left", "right")


def key_display(app: App[object], binding: Binding) -> str:
    if binding.key_display is None and binding.key in ARROWS:
        return binding.key
    return app.get_key_display(binding)


class KeyLine(NamedTuple):
    key: str  # as the user sees it, after any remapping; several keys joined by ", "
    description: str
    action: str
    group: str  # one of GROUPS


def key_lines(screen: Screen[object]) -> list[KeyLine]:
    """Every binding active on `screen`, app keys included, one line per action, grouped
    (GROUPS order). In a group, the screen's own keys come first in their declared order,
    then those of the widget in focus (moving in a list), then Textual's own (focus, copy)."""
    app = screen.app
    keys: dict[tuple[str, str], list[tuple[bool, str]]] = {}  # by (group, action)
    first: dict[tuple[str, str], tuple[int, int, Binding]] = {}  # its rank, order, binding
    for order, active in enumerate(screen.active_bindings.values()):
        binding = active.binding
        if not binding.description:
            continue
        if active.node is app:
            group = BETWEEN_SCREENS if binding.action.startswith("switch_mode") else APP
            rank = 0 if binding.id else 1  # ours (every one has an id) before Textual's
        else:
            group = THIS_SCREEN
            rank = 0 if active.node is screen and binding.id else 1 if binding.id else 2
        where = (group, binding.action)
        # Every key bound to the action, ours first (`q, ^q`).
        keys.setdefault(where, []).append((not binding.id, key_display(app, binding)))
        if where not in first or rank < first[where][0]:  # placed by its best binding
            first[where] = (rank, order, binding)
    lines = [
        KeyLine(
            ", ".join(dict.fromkeys(key for _, key in sorted(keys[where], key=lambda k: k[0]))),
            binding.description,
            *reversed(where),
        )
        for where, (_, _, binding) in first.items()
    ]

    def place(line: KeyLine) -> tuple[int, int, int]:
        rank, order, _ = first[(line.group, line.action)]
        return GROUPS.index(line.group), rank, order

    return sorted(lines, key=place)


def help_text(lines: list[KeyLine]) -> Content:
    """The lines under their group's title, keys aligned on the right."""
    width = max((len(line.key) for line in lines), default=4)
    parts: list[str | tuple[str, str]] = []
    for group in GROUPS:
        grouped = [line for line in lines if line.group == group]
        if not grouped:
            continue
        if parts:
            parts.append("\n\n")
        parts.append((group, "bold"))
        parts += [f"\n{line.key:>{width}}  {line.description}" for line in grouped]
    return Content.assemble(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 60; max-width: 90%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #keys { margin-top: 1; }
    """

    def __init__(self, title: str, lines: list[KeyLine]) -> None:
        super().__init__()
        self.help_title = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content.assemble((self.help_title, "bold"), "  (escape to close)"))
            yield Static(help_text(self.lines), id="keys")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
