"""The two statuses every order carries, and the words around them."""

from __future__ import annotations

from enum import StrEnum


class Confirmation(StrEnum):
    NEW = "new"
    NO_ANSWER = "no_answer"
    CALL_LATER = "call_later"
    CANCELED = "canceled"
    FAKE = "fake"
    CONFIRMED = "confirmed"


class Shipping(StrEnum):
    CREATED = "created"
    FULFILLED = "fulfilled"
    SHIPPED = "shipped"
    PACKAGE_ISSUE = "package_issue"
    DELIVERED = "delivered"
    CANCELED = "canceled"
    IN_RETURN = "in_return"
    RETURNED = "returned"


class StatusKind(StrEnum):
    CONFIRMATION = "confirmation"
    SHIPPING = "shipping"


class Sync(StrEnum):
    """Where the parcel creation of a connected-carrier order stands."""

    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"


class EventSource(StrEnum):
    MANUAL = "manual"
    CARRIER = "carrier"
    AUTO = "auto"
    FORCED = "forced"


class StockReason(StrEnum):
    CONFIRMED = "confirmed"
    RETURNED = "returned"
    RESTOCK = "restock"
    ADJUST = "adjust"


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


LOCAL_DELIVERY = "local"

# Orders still waiting for a call: the confirmation queue draws from these.
QUEUE_STATUSES: frozenset[Confirmation] = frozenset(
    {Confirmation.NEW, Confirmation.NO_ANSWER, Confirmation.CALL_LATER}
)
# A parcel that may still reach the customer: an order here is "open" for duplicate checks.
IN_FLIGHT: frozenset[Shipping] = frozenset(
    {Shipping.CREATED, Shipping.FULFILLED, Shipping.SHIPPED, Shipping.PACKAGE_ISSUE}
)
FINAL_SHIPPING: frozenset[Shipping] = frozenset({Shipping.DELIVERED, Shipping.RETURNED})


def parse_status(kind: StatusKind, text: str) -> Confirmation | Shipping:
    """The status called `text`, or ValueError naming the valid ones."""
    enum: type[Confirmation] | type[Shipping] = (
        Confirmation if kind is StatusKind.CONFIRMATION else Shipping
    )
    try:
        return enum(text.strip().lower())
    except ValueError:
        valid = ", ".join(s.value for s in enum)
        raise ValueError(f"unknown {kind} status {text!r} (valid: {valid})") from None
