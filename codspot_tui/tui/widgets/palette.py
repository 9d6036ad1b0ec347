"""The command palette: Textual's, with a prompt that every terminal font has."""

from __future__ import annotations

from textual.command import CommandPalette, SearchIcon

# Textual shows a magnifier emoji, which fonts common over SSH lack (and which is two cells
# wide where it exists).
PROMPT = ">"


class Palette(CommandPalette):
    def on_mount(self) -> None:  # Textual's own mount handler runs too
        self.query_one(SearchIcon).icon = PROMPT
