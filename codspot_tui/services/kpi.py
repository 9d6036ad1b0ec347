"""The figures a merchant watches: confirmation, delivery and return rates, cash in and due."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.statuses import IN_FLIGHT, Confirmation, Shipping
from ..store.db import Database
from ..store.kpi import status_totals

# Calls that reached an answer: the denominator of the confirmation rate.
_DECIDED = (Confirmation.CONFIRMED, Confirmation.CANCELED, Confirmation.FAKE)
# Parcels whose journey has an outcome, good or bad: the denominator of delivery and returns.
_SETTLED = (Shipping.DELIVERED, Shipping.IN_RETURN, Shipping.RETURNED, Shipping.CANCELED)
_RETURNING = (Shipping.IN_RETURN, Shipping.RETURNED)


@dataclass(frozen=True)
class Kpis:
    orders: int
    by_confirmation: dict[str, int]
    by_shipping: dict[str, int]
    confirmation_rate: float | None  # confirmed / (confirmed + canceled + fake)
    delivery_rate: float | None  # delivered / parcels with an outcome
    return_rate: float | None  # (in_return + returned) / parcels with an outcome
    cash_delivered_cents: int  # collected by the carrier or the merchant
    cash_pending_cents: int  # still out there: parcels in flight


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


class KpiService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def figures(self) -> Kpis:
        counts_c: dict[str, int] = {status.value: 0 for status in Confirmation}
        counts_s: dict[str, int] = {status.value: 0 for status in Shipping}
        cash_by_shipping: dict[str, int] = {}
        for confirmation, shipping, count, cents in await status_totals(self.db):
            counts_c[confirmation] += count
            if shipping is not None:
                counts_s[shipping] += count
                cash_by_shipping[shipping] = cash_by_shipping.get(shipping, 0) + cents
        decided = sum(counts_c[s] for s in _DECIDED)
        settled = sum(counts_s[s] for s in _SETTLED)
        return Kpis(
            orders=sum(counts_c.values()),
            by_confirmation=counts_c,
            by_shipping=counts_s,
            confirmation_rate=_rate(counts_c[Confirmation.CONFIRMED], decided),
            delivery_rate=_rate(counts_s[Shipping.DELIVERED], settled),
            return_rate=_rate(sum(counts_s[s] for s in _RETURNING), settled),
            cash_delivered_cents=cash_by_shipping.get(Shipping.DELIVERED, 0),
            cash_pending_cents=sum(cash_by_shipping.get(s, 0) for s in IN_FLIGHT),
        )
