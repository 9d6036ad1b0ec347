"""Errors as sentences for people; each knows the command-line exit code it maps to."""

from __future__ import annotations


class CodspotError(Exception):
    """Something went wrong; `str(error)` is one line a confirmation agent understands."""

    exit_code = 1


class BadInput(CodspotError):
    """The person typed something we can't use."""

    exit_code = 2


class Refused(CodspotError):
    """The rules or a role forbid it: locked order, move not allowed, stock short, not admin."""

    exit_code = 3


class MoveNotAllowed(Refused):
    pass


class OrderLocked(MoveNotAllowed):
    pass


class StockShort(Refused):
    pass


class NotAdmin(Refused):
    pass


class UnknownAgent(Refused):
    pass


class ClaimedElsewhere(Refused):
    """Another agent holds the order's lease: two people must not call one customer."""


class StaleOrder(Refused):
    """The order changed since the caller read it (optimistic concurrency)."""


class NotFound(CodspotError):
    exit_code = 4


class DatabaseError(CodspotError):
    """The database file can't be opened, is locked too long, or is not ours."""

    exit_code = 1
