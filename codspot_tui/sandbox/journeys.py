"""Believable parcel journeys, deterministic per seed and parcel reference.

Times are in simulated seconds from the parcel's creation; the server divides them by its
speed. Pure: no clock, no I/O.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

HOUR = 3600.0

# The sandbox's own vocabulary (the API contract): the adapter maps it to ours.
VOCABULARY = (
    "pending",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivery_failed",
    "postponed",
    "delivered",
    "refused",
    "returning",
    "cancelled",
)

_HUBS = ("Casablanca hub", "Rabat hub", "Marrakech hub", "Tanger hub", "Fes hub", "Agadir hub")
_DESCRIPTIONS = {
    "pending": "Parcel registered, waiting for pickup",
    "picked_up": "Picked up from the merchant",
    "in_transit": "In transit between hubs",
    "out_for_delivery": "Out for delivery with the courier",
    "delivery_failed": "Customer unreachable",
    "postponed": "Delivery postponed at the customer's request",
    "delivered": "Delivered, cash collected",
    "refused": "Refused by the customer",
    "returning": "On its way back to the merchant",
    "cancelled": "Cancelled",
}


@dataclass(frozen=True)
class Step:
    after: float  # simulated seconds since creation
    status: str
    location: str

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self.status]


def journey(seed: int, reference: str, city: str) -> tuple[Step, ...]:
    """The whole future of one parcel, decided at creation."""
    rng = random.Random(f"{seed}:{reference}")
    hub = rng.choice(_HUBS)
    destination = city or "destination"
    t = 0.0
    steps = [Step(t, "pending", "merchant")]

    def go(hours: tuple[float, float], status: str, where: str) -> None:
        nonlocal t
        t += rng.uniform(*hours) * HOUR
        steps.append(Step(t, status, where))

    roll = rng.random()
    if roll < 0.03:  # cancelled before anyone came
        go((1, 6), "cancelled", "merchant")
        return tuple(steps)
    go((1, 5), "picked_up", "merchant")
    go((2, 8), "in_transit", hub)
    go((4, 14), "out_for_delivery", destination)
    if roll < 0.75:  # delivered first time
        go((1, 5), "delivered", destination)
    elif roll < 0.85:  # a failed attempt or a postponement, then delivered
        go((1, 4), rng.choice(("delivery_failed", "postponed")), destination)
        go((12, 30), "out_for_delivery", destination)
        go((1, 5), "delivered", destination)
    elif roll < 0.93:  # refused at the door, sent back
        go((1, 4), "refused", destination)
        go((4, 24), "returning", hub)
    elif roll < 0.97:  # unreachable twice, then returned
        go((1, 4), "delivery_failed", destination)
        go((12, 30), "out_for_delivery", destination)
        go((1, 4), "delivery_failed", destination)
        go((4, 24), "returning", hub)
    else:  # cancelled on the road
        go((1, 8), "cancelled", hub)
        go((4, 24), "returning", hub)
    return tuple(steps)
