"""The footer of every screen: the current screen's keys, drawn as one line.

Textual's Footer makes a widget per key and builds them all again whenever the bindings may
have changed (each focus change, several times while a screen opens), and each new key
widget is styled twice over. That was a fifth of the time to open the shipping board. This
footer is one widget: it draws the keys from the screen's active bindings, and only draws
again when they change. The look is the Footer's, with the command palette key on the right.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class _Key(NamedTuple):
    key: str  # what pressing it simulates
    display: str
    description: str
    enabled: bool


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
        self._keys: tuple[_Key, ...] = ()
        self._palette: _Key | None = None
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) as drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        keys, palette = self._keys_shown()
        if (keys, palette) != (self._keys, self._palette):
            self._keys, self._palette = keys, palette
            self.refresh()

    def _keys_shown(self) -> tuple[tuple[_Key, ...], _Key | None]:
        """The keys to show, one per action (the first bound), and the palette's key."""
        app = self.app
        active = self.screen.active_bindings
        keys: dict[str, _Key] = {}
        for _, binding, enabled, _ in active.values():
            if binding.show and binding.action not in keys:
                keys[binding.action] = _Key(
                    binding.key, app.get_key_display(binding), binding.description, enabled
                )
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _, binding, enabled, _ = active[app.COMMAND_PALETTE_BINDING]
            palette = _Key(binding.key, app.get_key_display(binding), "palette", enabled)
            keys.pop(binding.action, None)
        return tuple(keys.values()), palette

    def render(self) -> Text:
        """As many whole keys as fit, left to right; the palette's key on the right."""
        palette = self._label(self._palette) if self._palette is not None else Text()
        room = self.size.width - cell_len(palette.plain) - (1 if palette else 0)
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for key in self._keys:
            label = self._label(key)
            start = cell_len(line.plain)
            end = start + cell_len(label.plain)
            if end > room:
                break
            self._spans.append((start, end, key.key))
            line.append_text(label)
        if self._palette is not None:
            line.pad_right(self.size.width - cell_len(line.plain) - cell_len(palette.plain) - 1)
            line.append("|", Style(dim=True))
            start = cell_len(line.plain)
            self._spans.append((start, start + cell_len(palette.plain), self._palette.key))
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
