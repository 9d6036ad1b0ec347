"""Who may make which move: the tables of DESIGN §1, as data.

The service and the tests read these same tables. Adding a status is a row here,
not a hunt through `if`s.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import MoveNotAllowed, OrderLocked
from .statuses import FINAL_SHIPPING, Confirmation, Shipping, StatusKind

C = Confirmation
S = Shipping


class Mover(StrEnum):
    """Who is making a move, as far as the tables care."""

    OPERATOR = "operator"  # an agent, on an order of a connected carrier
    LOCAL_OPERATOR = "local_operator"  # an agent, on an order the merchant delivers
    CARRIER = "carrier"  # the carrier's own updates (polling)
    SYSTEM = "system"  # automatic moves (the no-answer limit)
    FORCE = "force"  # an admin overriding the tables, with a note


_CALL_OUTCOMES = frozenset({C.NO_ANSWER, C.CALL_LATER, C.CANCELED, C.FAKE, C.CONFIRMED})

CONFIRMATION_MOVES: dict[Confirmation, frozenset[Confirmation]] = {
    C.NEW: _CALL_OUTCOMES,
    C.NO_ANSWER: _CALL_OUTCOMES,
    C.CALL_LATER: _CALL_OUTCOMES,
    C.CANCELED: frozenset(),
    C.FAKE: frozenset(),
    C.CONFIRMED: frozenset(),
}

# A confirmation status that takes no further move: the order is closed to edits.
LOCKED_CONFIRMATION: frozenset[Confirmation] = frozenset(
    status for status, targets in CONFIRMATION_MOVES.items() if not targets
)

_CARRIER_FROM_START = frozenset({S.SHIPPED, S.PACKAGE_ISSUE, S.DELIVERED, S.CANCELED, S.IN_RETURN})

OPERATOR_SHIPPING_MOVES: dict[Shipping, frozenset[Shipping]] = {
    S.CREATED: frozenset({S.FULFILLED, S.CANCELED}),
    S.FULFILLED: frozenset({S.CANCELED, S.RETURNED}),
    S.SHIPPED: frozenset(),
    S.PACKAGE_ISSUE: frozenset(),
    S.IN_RETURN: frozenset({S.RETURNED}),
    S.CANCELED: frozenset({S.RETURNED}),
    S.DELIVERED: frozenset(),
    S.RETURNED: frozenset(),
}

CARRIER_SHIPPING_MOVES: dict[Shipping, frozenset[Shipping]] = {
    S.CREATED: _CARRIER_FROM_START,
    S.FULFILLED: _CARRIER_FROM_START,
    S.SHIPPED: frozenset({S.PACKAGE_ISSUE, S.DELIVERED, S.CANCELED, S.IN_RETURN}),
    S.PACKAGE_ISSUE: frozenset({S.SHIPPED, S.DELIVERED, S.CANCELED, S.IN_RETURN}),
    S.IN_RETURN: frozenset(),
    S.CANCELED: frozenset({S.IN_RETURN}),
    S.DELIVERED: frozenset(),
    S.RETURNED: frozenset(),
}

# Local delivery: the merchant is their own carrier, so an operator makes both columns' moves.
LOCAL_SHIPPING_MOVES: dict[Shipping, frozenset[Shipping]] = {
    status: OPERATOR_SHIPPING_MOVES[status] | CARRIER_SHIPPING_MOVES[status] for status in Shipping
}

SHIPPING_MOVES: dict[Mover, dict[Shipping, frozenset[Shipping]]] = {
    Mover.OPERATOR: OPERATOR_SHIPPING_MOVES,
    Mover.LOCAL_OPERATOR: LOCAL_SHIPPING_MOVES,
    Mover.CARRIER: CARRIER_SHIPPING_MOVES,
    Mover.SYSTEM: {status: frozenset() for status in Shipping},
}

# Confirming sets the shipping status to this; until then it is NULL.
SHIPPING_ON_CONFIRM = S.CREATED
# The one shipping status that puts goods back on the shelf (DESIGN §1, Stock).
RESTOCKING_SHIPPING = S.RETURNED


def is_final(kind: StatusKind, status: Confirmation | Shipping) -> bool:
    """True where no move, not even a forced one, may leave `status`."""
    if kind is StatusKind.CONFIRMATION:
        return status in LOCKED_CONFIRMATION
    return status in FINAL_SHIPPING


def allowed_targets(
    kind: StatusKind, current: Confirmation | Shipping, mover: Mover
) -> frozenset[Confirmation] | frozenset[Shipping]:
    """Every status `mover` may move an order from `current` to."""
    if kind is StatusKind.CONFIRMATION:
        current_c = C(current)
        if mover is Mover.CARRIER:
            return frozenset()
        if mover is Mover.FORCE:
            if is_final(kind, current_c):
                return frozenset()
            return frozenset(C) - {current_c} | CONFIRMATION_MOVES[current_c]
        return CONFIRMATION_MOVES[current_c]
    current_s = S(current)
    if mover is Mover.FORCE:
        return frozenset() if is_final(kind, current_s) else frozenset(S) - {current_s}
    return SHIPPING_MOVES[mover][current_s]


def check_move(
    ref: str,
    kind: StatusKind,
    current: Confirmation | Shipping,
    target: Confirmation | Shipping,
    mover: Mover,
) -> None:
    """Raise a refusal a person can read if `mover` may not move order `ref` to `target`."""
    if target in allowed_targets(kind, current, mover):
        return
    if is_final(kind, current):
        what = "closed" if kind is StatusKind.CONFIRMATION else "final"
        raise OrderLocked(f"Order {ref} is {current}: {what}, it can't be changed")
    who = {
        Mover.OPERATOR: "an operator of a connected carrier",
        Mover.LOCAL_OPERATOR: "an operator",
        Mover.CARRIER: "the carrier",
        Mover.SYSTEM: "the system",
        Mover.FORCE: "even a forced move",
    }[mover]
    raise MoveNotAllowed(f"Order {ref}: {kind} can't go from {current} to {target} by {who}")
