"""The footer of every screen: Textual's, rebuilt only when the keys it shows change."""

from __future__ import annotations

from collections.abc import Hashable

from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's Footer rebuilds all its keys (a widget each, styled anew) whenever the
    screen's bindings may have changed: on every focus change, several times while a screen
    opens. Most of those rebuilds show the very same keys; this footer skips them. Opening
    the shipping board built 86 keys for the 12 it shows, a third of its time to first paint.
    """

    _shown: Hashable = None

    async def recompose(self) -> None:
        shown = self._keys_shown()
        if shown == self._shown:
            return
        self._shown = shown
        await super().recompose()

    def _keys_shown(self) -> Hashable:
        """What `Footer.compose` draws from: the keys shown and whether each is enabled."""
        if not self._bindings_ready:
            return None
        return (
            self.compact,
            self.show_command_palette,
            tuple(
                (binding.key, binding.action, binding.description, enabled, tooltip)
                for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
                if binding.show
            ),
        )
