"""Where a synthetic parcel goes once confirmed, and how long people take: data for `seed_lives`.

Each journey is a list of shipping moves with who makes them (an agent, or the carrier's
scan) and how long after the previous one. They are checked against the tables of
`domain.rules` when this module loads: a journey the rules forbid is a bug here.
"""

from __future__ import annotations

import math
from itertools import accumulate

from ..domain.rules import Mover, allowed_targets
from ..domain.statuses import Shipping, StatusKind

HOUR, DAY = 3600, 86400
S = Shipping
# People call and deliver between 09:00 and 21:00 local time; the shop is in UTC+1.
MOROCCO, OPENING, CLOSING = HOUR, 9 * HOUR, 21 * HOUR

OP, CARRIER = "op", "carrier"  # who makes a shipping move: an agent, or the carrier's scan
Step = tuple[str, str, int, int]  # (to, who, least and most seconds after the previous step)


def _step(to: Shipping, who: str, least_hours: float, most_hours: float) -> Step:
    return (to.value, who, int(least_hours * HOUR), int(most_hours * HOUR))


FULFIL = _step(S.FULFILLED, OP, 1, 20)
PICKUP = _step(S.SHIPPED, CARRIER, 8, 36)
DELIVER = _step(S.DELIVERED, CARRIER, 10, 96)
LATE_DELIVER = _step(S.DELIVERED, CARRIER, 24, 96)  # polling never saw the pickup
ISSUE = _step(S.PACKAGE_ISSUE, CARRIER, 6, 48)
RESHIP = _step(S.SHIPPED, CARRIER, 12, 48)
REFUSED = _step(S.CANCELED, CARRIER, 12, 72)  # the customer refused at the door
GOING_BACK = _step(S.IN_RETURN, CARRIER, 12, 72)
RECEIVE = _step(S.RETURNED, OP, 24, 120)  # the package is back on the shelf
CANCEL = _step(S.CANCELED, OP, 1, 24)
TAKE_BACK = _step(S.RETURNED, OP, 1, 48)
# (weight, steps after the parcel exists) for the orders of a connected carrier.
CARRIER_JOURNEYS: tuple[tuple[int, tuple[Step, ...]], ...] = (
    (52, (FULFIL, PICKUP, DELIVER)),
    (8, (PICKUP, DELIVER)),  # picked up before anyone marked it fulfilled
    (3, (FULFIL, LATE_DELIVER)),
    (5, (FULFIL, PICKUP, ISSUE, RESHIP, DELIVER)),
    (13, (FULFIL, PICKUP, REFUSED, GOING_BACK, RECEIVE)),
    (6, (FULFIL, PICKUP, GOING_BACK, RECEIVE)),
    (3, (FULFIL, PICKUP, ISSUE, GOING_BACK, RECEIVE)),
    (3, (CANCEL, TAKE_BACK)),  # canceled before it left the shop
    (2, (FULFIL, CANCEL, TAKE_BACK)),
    (2, (FULFIL, PICKUP, ISSUE)),  # still stuck
    (2, (FULFIL, PICKUP, REFUSED)),  # not back yet
    (1, (FULFIL, RECEIVE)),
)
L_SHIP = _step(S.SHIPPED, OP, 4, 24)
L_DELIVER = _step(S.DELIVERED, OP, 2, 30)
L_REFUSED = _step(S.CANCELED, OP, 2, 30)
L_BACK = _step(S.IN_RETURN, OP, 4, 48)
L_ISSUE = _step(S.PACKAGE_ISSUE, OP, 2, 24)
# Local delivery: the merchant's own driver, every move made by hand.
LOCAL_JOURNEYS: tuple[tuple[int, tuple[Step, ...]], ...] = (
    (65, (FULFIL, L_SHIP, L_DELIVER)),
    (10, (L_SHIP, L_DELIVER)),
    (12, (FULFIL, L_SHIP, L_REFUSED, TAKE_BACK)),
    (5, (FULFIL, L_SHIP, L_BACK, RECEIVE)),
    (4, (CANCEL, TAKE_BACK)),
    (4, (FULFIL, L_SHIP, L_ISSUE, L_DELIVER)),
)
# Hours after a "call later" that the customer asked to be called back.
CALLBACK_HOURS = (1, 2, 3, 5, 20, 24, 26, 44)
# How many unanswered calls before the answer (0, 1, 2, 3), by weight.
MISSES = tuple(accumulate((50, 26, 14, 10)))
# Quantiles of the exponential distribution: a waiting time is mean * EXP[random index].
EXP = tuple(-math.log(1 - (i + 0.5) / 1024) for i in range(1024))


def working_time_back(end: int, seconds: int) -> int:
    """The moment `seconds` of working hours before `end` (epoch seconds): agents confirm
    nothing at night, so "the last hour of confirmations" at 03:00 is yesterday's last hour."""
    if seconds <= 0:
        return end
    moment = end
    while True:
        local = (moment + MOROCCO) % DAY
        if local > CLOSING:  # evening: back to the closing time, no work since
            moment -= local - CLOSING
            local = CLOSING
        elif local <= OPENING:  # night, before opening: back to yesterday's closing
            moment -= local + DAY - CLOSING
            local = CLOSING
        worked = local - OPENING  # working seconds of this day before `moment`
        if worked >= seconds:
            return moment - seconds
        seconds -= worked
        moment -= worked


def _check_journeys() -> None:
    for journeys, mover in ((CARRIER_JOURNEYS, None), (LOCAL_JOURNEYS, Mover.LOCAL_OPERATOR)):
        for _, steps in journeys:
            current = S.CREATED
            for to, who, _, _ in steps:
                by = mover or (Mover.CARRIER if who == CARRIER else Mover.OPERATOR)
                if S(to) not in allowed_targets(StatusKind.SHIPPING, current, by):
                    raise AssertionError(f"seed journey {current}->{to} by {by} breaks the rules")
                current = S(to)


_check_journeys()
