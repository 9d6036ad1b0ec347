"""What the shipping board shows, and the filter typed after `/` that sets it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace

from ...domain.statuses import Confirmation, Shipping, StatusKind, parse_status
from ...store.orders import OrderFilter

ALL = "all"


@dataclass(frozen=True)
class BoardFilter:
    """What the board shows: one shipping status or all, a carrier, a city, a text."""

    status: Shipping | None = None
    carrier: str | None = None
    city: str | None = None
    text: str | None = None

    def orders(self) -> OrderFilter:
        if self.status is None:  # every confirmed order has a shipping status
            return OrderFilter(
                confirmation=frozenset({Confirmation.CONFIRMED}),
                delivery=self.carrier,
                city=self.city,
                search=self.text,
            )
        return OrderFilter(
            shipping=frozenset({self.status}),
            delivery=self.carrier,
            city=self.city,
            search=self.text,
        )

    def typed(self) -> str:
        """The filter as the operator would type it after `/` (the status is the side list's)."""
        words = []
        if self.carrier:
            words.append(f"carrier:{shlex.quote(self.carrier)}")
        if self.city:
            words.append(f"city:{shlex.quote(self.city)}")
        if self.text:
            words.append(self.text)
        return " ".join(words)


def parse_filter(typed: str, current: BoardFilter) -> BoardFilter:
    """`carrier:NAME city:NAME status:NAME free text`; ValueError names what is wrong."""
    try:
        words = shlex.split(typed)
    except ValueError:  # an unbalanced quote: take the words as they come
        words = typed.split()
    found = BoardFilter(status=current.status)
    text: list[str] = []
    for word in words:
        key, sep, value = word.partition(":")
        key = key.lower()
        if sep and key in ("carrier", "c") and value:
            found = replace(found, carrier=value)
        elif sep and key == "city" and value:
            found = replace(found, city=value)
        elif sep and key in ("status", "s") and value:
            if value.lower() == ALL:
                found = replace(found, status=None)
            else:
                found = replace(found, status=Shipping(parse_status(StatusKind.SHIPPING, value)))
        else:
            text.append(word)
    return replace(found, text=" ".join(text) or None)
