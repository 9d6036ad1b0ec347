"""The footer of every screen: the current screen's keys, drawn as one line.

Textual's Footer makes a widget per key and builds them all again whenever the bindings may
have changed (each focus change, several times while a screen opens), and each new key
widget is styled twice over. That was a fifth of the time to open the shipping board. This
footer is one widget: it draws the keys from the screen's active bindings, and only draws
again when they change. The look is the Footer's, with the command palette key on the right.

When the keys do not all fit (80 columns), the less important ones go first: the way to help
and the way out (`?`, `q`) are always shown; then the screen's own keys, in their order; then
the app's keys for moving between screens. A `…` says that some were left out (`?` lists
them all).
"""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

# Shown at every width, by binding id (a remapped key keeps its id): a new agent on a small
# window must always see how to get help and how to leave.
ALWAYS_SHOWN = ("app.help", "app.quit")
ELLIPSIS = " … "


class _Key(NamedTuple):
    key: str  # what pressing it simulates
    display: str
    description: str
    enabled: bool


class _Keys(NamedTuple):
    kept: tuple[_Key, ...]  # always shown, on the right of the others
    ranked: tuple[_Key, ...]  # the others, most important first
    palette: _Key | None


class KeysFooter(Widget):
    COMPONENT_CLASSES = {"keys-footer--key", "keys-footer--description"}
    DEFAULT_CSS = """
    KeysFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .keys-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .keys-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys = _Keys((), (), None)
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) as drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        keys = self._keys_shown()
        if keys != self._keys:
            self._keys = keys
            self.refresh()

    def _keys_shown(self) -> _Keys:
        """The keys to show, one per action (the first bound), by importance."""
        app = self.app
        active = self.screen.active_bindings
        kept: dict[str, _Key] = {}  # by binding id
        screens: dict[str, _Key] = {}  # by action: the screen's and its widgets' keys
        apps: dict[str, _Key] = {}
        for node, binding, enabled, _ in active.values():
            if not binding.show:
                continue
            key = _Key(binding.key, app.get_key_display(binding), binding.description, enabled)
            if binding.id in ALWAYS_SHOWN:
                kept.setdefault(binding.id, key)
            else:
                (apps if node is app else screens).setdefault(binding.action, key)
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _, binding, enabled, _ = active[app.COMMAND_PALETTE_BINDING]
            palette = _Key(binding.key, app.get_key_display(binding), "palette", enabled)
            screens.pop(binding.action, None)
            apps.pop(binding.action, None)
        kept_in_order = tuple(kept[id] for id in ALWAYS_SHOWN if id in kept)
        ranked = (*screens.values(), *(key for a, key in apps.items() if a not in screens))
        return _Keys(kept_in_order, ranked, palette)

    def render(self) -> Text:
        """The kept keys, after as many whole others as fit (in order: no gaps); then the
        palette's key on the right."""
        kept, ranked, palette_key = self._keys
        palette = self._label(palette_key) if palette_key is not None else Text()
        room = self.size.width - cell_len(palette.plain) - (1 if palette else 0)
        room -= sum(cell_len(self._label(key).plain) for key in kept)
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        shown = 0
        for key in ranked:
            label = self._label(key)
            start = cell_len(line.plain)
            end = start + cell_len(label.plain)
            # Room for the ellipsis too, unless this is the last one.
            if end + (cell_len(ELLIPSIS) if shown < len(ranked) - 1 else 0) > room:
                break
            self._spans.append((start, end, key.key))
            line.append_text(label)
            shown += 1
        if shown < len(ranked):
            line.append(ELLIPSIS, self.get_component_rich_style("keys-footer--description"))
        for key in kept:
            label = self._label(key)
            start = cell_len(line.plain)
            self._spans.append((start, start + cell_len(label.plain), key.key))
            line.append_text(label)
        if palette_key is not None:
            line.pad_right(self.size.width - cell_len(line.plain) - cell_len(palette.plain) - 1)
            line.append("|", Style(dim=True))
            start = cell_len(line.plain)
            self._spans.append((start, start + cell_len(palette.plain), palette_key.key))
            line.append_text(palette)
        return line

    def _label(self, key: _Key) -> Text:
        style = self.get_component_rich_style("keys-footer--key")
        described = self.get_component_rich_style("keys-footer--description")
        if not key.enabled:
            style, described = style + Style(dim=True), described + Style(dim=True)
        label = Text(f" {key.display} ", style)
        if key.description:
            label.append(f"{key.description} ", described)
        return label

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
