"""Checking one row of a lead file on its own: text, quantity, price, date, delivery.

What needs more than the row (its product, its order's other rows, the phone's validity, which
is checked once per order) is checked by the import itself, in `leads`. This runs for every
row of files of a hundred thousand rows, so the usual values take short paths and only the
unusual ones pay for the thorough parse (and for the exact reason given back).
"""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from ..domain.statuses import LOCAL_DELIVERY
from ..domain.text import clean_text
from ..domain.times import parse_user_time, to_stored
from ..settings import Settings
from ..store.leads import LeadRow
from .lead_files import Record, quoted

TEXT_LIMITS = {"ref": 64, "customer": 200, "city": 100, "address": 500, "note": 1000}
TEXT_LIMITS |= {"phone": 64, "sku": 64}  # as written: far longer is not a phone or a SKU
MAX_QTY = 10_000  # a typo guard, and it keeps totals far inside SQLite's integers
MAX_PRICE_CENTS = 1_000_000_000
_TEXTS = ("ref", "phone", "sku", "customer", "city", "address", "note")
_WORDS = frozenset({"ref", "phone", "sku"})  # identifiers: no joiner or direction mark either
_LIMITS = tuple(TEXT_LIMITS[name] for name in _TEXTS)
_PRICE = re.compile(r"^(\d+)(?:[.,](\d+))?$")
_SLASH_DATES = ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")


class RowCheck:
    """Checks one row on its own, with what it needs from the settings worked out once."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.deliveries = frozenset({LOCAL_DELIVERY, *settings.carriers})
        self.latest = now + timedelta(days=1)
        _read_date.cache_clear()  # the machine's time zone may have changed since last time

    def __call__(self, seq: int, record: Record) -> tuple[LeadRow | None, str | None]:
        """The row as a checked item, or None and the reasons it is refused."""
        ref, date, customer, phone, city, address, sku, qty_text, price_text, delivery, note = (
            record.values
        )
        problems: list[str] = []
        texts = (ref, phone, sku, customer, city, address, note)
        if _plain(texts):
            ref, phone, sku = ref.strip(), phone.strip(), sku.strip()
            customer, city, address = customer.strip(), city.strip(), address.strip()
            note = note.strip()
        else:
            ref, phone, sku, customer, city, address, note = [
                _text(problems, value, name) for value, name in zip(texts, _TEXTS, strict=True)
            ]
        if not (ref and phone and sku):
            for text, name in zip(texts, ("ref", "phone", "sku"), strict=False):
                if not text.strip():  # not when refused above for another reason
                    problems.append(f"missing {name}")
        qty: int = 0
        price: int | None = None
        created_at: str | None = None
        try:
            qty = _parse_qty(qty_text)
        except ValueError as error:
            problems.append(str(error))
        try:
            price = _parse_price(price_text)
        except ValueError as error:
            problems.append(str(error))
        try:
            created_at = _parse_date(date, self.latest)
        except ValueError as error:
            problems.append(str(error))
        if delivery:
            delivery = delivery.strip().lower()  # "": the order's, or the default
            if delivery and delivery not in self.deliveries:
                known = ", ".join(sorted(self.deliveries))
                problems.append(f"unknown delivery {quoted(delivery)} (known: {known})")
        if problems:
            return None, "; ".join(problems)
        row = LeadRow(
            seq, record.line, ref, phone, customer, city, address, note, delivery, sku, qty, price,
            created_at,
        )  # fmt: skip
        return row, None


def _plain(texts: tuple[str, ...]) -> bool:
    """True when the text fields (in the order of _TEXTS) are fine as they are, but for white
    space around them: the usual row, checked in one go rather than field by field."""
    for value, limit in zip(texts, _LIMITS, strict=True):
        if len(value) > limit:
            return False
    try:
        # As strict as for an identifier: free text with a joiner takes the long way.
        clean_text("\n".join(texts), "row", max_length=sys.maxsize, required=False, word=True)
    except ValueError:
        return False
    return True


def _text(problems: list[str], value: str, name: str) -> str:
    """`value` trimmed (within TEXT_LIMITS), or "" with the reason added to `problems`."""
    if not value:
        return ""
    if "\r" in value:
        value = value.replace("\r\n", "\n")  # a line break typed on Windows; a lone CR is not
    try:
        return clean_text(
            value, name, max_length=TEXT_LIMITS[name], required=False, word=name in _WORDS
        )
    except ValueError as error:
        problems.append(str(error))
        return ""


def _parse_qty(text: str) -> int:
    """Units; 1 when empty. A whole number from 1 to MAX_QTY ("2.0" is two)."""
    text = text.strip()
    if not text:
        return 1
    if text.isdecimal() and len(text) < 9:
        number = int(text)  # the usual "2"
    else:
        try:
            exact = Decimal(text)
        except InvalidOperation:
            exact = Decimal("NaN")
        if not exact.is_finite() or exact != exact.to_integral_value():
            raise ValueError(f"qty {quoted(text)} is not a whole number")
        number = 0 if exact < 1 else MAX_QTY + 1 if exact > MAX_QTY else int(exact)
    if number < 1:
        raise ValueError(f"qty {quoted(text)} is less than 1")
    if number > MAX_QTY:
        raise ValueError(f"qty {quoted(text)} is more than {MAX_QTY}")
    return number


def _parse_price(text: str) -> int | None:
    """Cents; None when empty (the product's price). "199", "199.50" and "199,50" are fine."""
    text = text.strip()
    if not text:
        return None
    if text.isdecimal() and len(text) < 8:
        return int(text) * 100  # the usual "199"
    if text.startswith("-"):
        raise ValueError(f"price {quoted(text)} is negative")
    match = _PRICE.match(text)
    if match is None:
        raise ValueError(f"price {quoted(text)} is not a number like 199.50")
    whole, decimals = match.group(1), match.group(2) or ""
    if len(decimals) > 2:
        raise ValueError(f"price {quoted(text)} has more than 2 decimals")
    if len(whole) > 12 or int(whole) * 100 > MAX_PRICE_CENTS:
        raise ValueError(f"price {quoted(text)} is more than {MAX_PRICE_CENTS // 100}")
    return int(whole) * 100 + int(decimals.ljust(2, "0"))


def _parse_date(text: str, latest: datetime) -> str | None:
    """Stored UTC time, up to `latest`; None when empty (now). Without a zone, it is the
    machine's local time."""
    text = text.strip()
    if not text:
        return None
    found = _read_date(text)
    if found is None:
        raise ValueError(f"invalid date {quoted(text)} (like 2026-11-28 14:30 or 28/11/2026)")
    moment, stored = found
    if moment.year < 1970:
        raise ValueError(f"date {quoted(text)} is before 1970")
    if moment > latest:
        raise ValueError(f"date {quoted(text)} is more than a day in the future")
    return stored


@lru_cache(maxsize=4096)  # rows often share a date
def _read_date(text: str) -> tuple[datetime, str] | None:
    """The moment `text` names, and its stored form; None if it names none."""
    try:
        moment = parse_user_time(text) if "/" not in text else _slashed_date(text)
    except (ValueError, OverflowError):
        return None
    return moment, to_stored(moment) if moment.year >= 1970 else ""


def _slashed_date(text: str) -> datetime:
    """DD/MM/YYYY with an optional time, as French-locale spreadsheets write it; local time."""
    for layout in _SLASH_DATES:
        try:
            return datetime.strptime(text, layout).astimezone()
        except ValueError:
            continue
    raise ValueError(text)
