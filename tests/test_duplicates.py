"""A lead whose phone already has an open order is imported and marked `duplicate_of` it.

Open: still waiting for a call, or confirmed with its parcel on the road (it may still reach
the customer). An order whose parcel was delivered or came back is history, not a duplicate.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import FrozenClock, Shop

from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import IN_FLIGHT, Confirmation, Role, Shipping, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.leads import LeadImporter
from codspot_tui.services.status import Move
from codspot_tui.settings import Settings

C, S = Confirmation, Shipping
PHONE = "+212612345678"
BOSS = Actor.agent("boss", Role.ADMIN)
SANDBOX = Actor.carrier("sandbox")

# Where the earlier, confirmed order's parcel is -> is the new lead its duplicate?
ON_THE_ROAD = {
    S.CREATED: True,
    S.FULFILLED: True,
    S.SHIPPED: True,
    S.PACKAGE_ISSUE: True,
    S.DELIVERED: False,
    S.RETURNED: False,
    S.CANCELED: False,  # called off: not on its way to the customer any more
    S.IN_RETURN: False,
}


def test_every_shipping_status_is_decided_and_agrees_with_the_domain() -> None:
    assert set(ON_THE_ROAD) == set(Shipping)
    assert {status for status, open_ in ON_THE_ROAD.items() if open_} == IN_FLIGHT


async def import_lead(
    services: Services, settings: Settings, clock: FrozenClock, folder: Path, ref: str
) -> str | None:
    """Import one lead for PHONE (written as the customer gives it); its `duplicate_of`."""
    path = folder / f"{ref}.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["ref", "customer", "phone", "city", "address", "sku"])
        writer.writerow([ref, "Karima Alaoui", "06 12 34 56 78", "Rabat", "1 rue X", "ARGAN"])
    report = await LeadImporter(services.db, settings, clock).import_file(path, source="shop")
    assert report.imported == 1, report.problems
    order = await services.orders.get(await services.orders.resolve(ref))
    assert order.phone == PHONE
    return order.duplicate_of


@pytest.mark.parametrize("shipping", list(ON_THE_ROAD), ids=str)
async def test_a_lead_is_a_duplicate_of_a_confirmed_order_only_while_its_parcel_is_on_the_road(
    services: Services,
    shop: Shop,
    settings: Settings,
    clock: FrozenClock,
    tmp_path: Path,
    shipping: Shipping,
) -> None:
    earlier = await shop.order("EARLIER", phone=PHONE)
    await services.db.conn.execute(
        "UPDATE orders SET confirmation = 'confirmed', shipping = ? WHERE id = ?",
        (shipping.value, earlier),
    )
    duplicate_of = await import_lead(services, settings, clock, tmp_path, "NEW")
    assert duplicate_of == ("EARLIER" if ON_THE_ROAD[shipping] else None)


async def test_a_parcel_followed_to_its_door_stops_making_duplicates(
    services: Services, shop: Shop, settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    """The same through the real moves: confirmed, picked up by the carrier, delivered."""
    earlier = await shop.order("EARLIER", phone=PHONE)

    async def lead_then_closed(ref: str) -> str | None:
        duplicate_of = await import_lead(services, settings, clock, tmp_path, ref)
        # The agent cancels the repeat: only EARLIER decides what the next lead is.
        cancel = Move(await services.orders.resolve(ref), StatusKind.CONFIRMATION, C.CANCELED)
        assert (await services.status.apply(BOSS, cancel)).applied
        return duplicate_of

    confirm = Move(earlier, StatusKind.CONFIRMATION, C.CONFIRMED)
    assert (await services.status.apply(BOSS, confirm)).applied
    assert await lead_then_closed("WHILE-CREATED") == "EARLIER"
    picked_up = Move(earlier, StatusKind.SHIPPING, S.SHIPPED, carrier_event_id="e1")
    assert (await services.status.apply(SANDBOX, picked_up)).applied
    assert await lead_then_closed("ON-THE-ROAD") == "EARLIER"
    delivered = Move(earlier, StatusKind.SHIPPING, S.DELIVERED, carrier_event_id="e2")
    assert (await services.status.apply(SANDBOX, delivered)).applied
    assert await lead_then_closed("AFTER-DELIVERY") is None
