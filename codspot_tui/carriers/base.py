"""What every carrier adapter offers, and the errors it may raise.

Adapters translate; they decide nothing about our orders. Their errors say whether trying
again later may help, so that the worker can back off instead of giving up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from .vocabulary import Meaning


@dataclass(frozen=True)
class ParcelRequest:
    """One confirmed order, as a carrier needs it to create a parcel."""

    reference: str  # ours, unique: the carrier is idempotent on it
    customer: str
    phone: str
    city: str
    address: str
    cod_cents: int
    items: tuple[tuple[str, int], ...]  # (sku, qty)
    note: str | None = None


class TrackedEvent(NamedTuple):
    """One step of a parcel's journey, in the carrier's words and in ours.

    A named tuple rather than a dataclass: a poll builds tens of thousands of these, and
    a tuple is several times cheaper to make.
    """

    event_id: str
    raw_status: str
    meaning: Meaning
    at: datetime
    description: str = ""
    location: str = ""


class TrackedParcel(NamedTuple):
    """Where one parcel is now, and its journey so far (a named tuple, as TrackedEvent)."""

    tracking: str
    raw_status: str
    meaning: Meaning
    updated_at: datetime
    events: tuple[TrackedEvent, ...]  # oldest first; at least the latest one


@dataclass(frozen=True)
class TrackResult:
    parcels: tuple[TrackedParcel, ...]
    unknown: tuple[str, ...]  # tracking numbers the carrier does not know


class CarrierError(Exception):
    """A carrier call failed. `retryable`: the same call may succeed later."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CarrierUnavailable(CarrierError):
    """Timeout, dropped connection, 5xx: the carrier is having a bad moment."""


class CarrierRateLimited(CarrierError):
    """429: wait `retry_after` seconds before the next call."""


class CarrierBadAnswer(CarrierError):
    """The answer was not JSON, or not of the shape we know."""


class CarrierAuthFailed(CarrierError):
    """401/403: the credentials are wrong; retrying will not help until someone fixes them."""

    retryable = False


class CarrierRejected(CarrierError):
    """400/404/422 for this parcel: its data must change before a retry can succeed."""

    retryable = False


class Carrier(Protocol):
    name: str
    batch_size: int  # how many tracking numbers one `track` call may take

    async def create_parcel(self, parcel: ParcelRequest) -> str:
        """Create the parcel (idempotent on its reference) and return its tracking number."""
        ...

    async def track(self, trackings: Sequence[str]) -> TrackResult:
        """Where each of these parcels is now (at most the carrier's batch size)."""
        ...

    async def aclose(self) -> None: ...
