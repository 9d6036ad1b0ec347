"""Messages the dashboard passes around, as typed dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class DataChanged(Message):
    """Another process (or this one) committed: whatever is on screen may be stale."""

    # Several commits between two looks merge into one refresh.
    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DataChanged)
