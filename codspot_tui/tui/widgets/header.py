"""The header of every screen: Textual's, with an icon that every terminal font has."""

from __future__ import annotations

from textual.widgets import Header

# Clicked, the icon opens the command palette. Textual's own, U+2B58, is missing from fonts
# that terminals reached over SSH often use (PuTTY's Courier New, the Linux console's);
# this one is in all of them, code page 437 included.
ICON = "≡"


class CodspotHeader(Header):
    def __init__(self) -> None:
        super().__init__(icon=ICON)
