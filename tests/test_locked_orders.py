"""A closed or confirmed order can't be edited (DESIGN §1): not its phone, city, address or
quantities, by an agent or an admin, and a refused edit leaves every stored row as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import Shop

from codspot_tui.domain.errors import OrderLocked
from codspot_tui.domain.models import Actor
from codspot_tui.domain.rules import LOCKED_CONFIRMATION
from codspot_tui.domain.statuses import Confirmation, Role, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.orders import OrderEdit
from codspot_tui.services.status import Move

C = Confirmation
KARIM = Actor.agent("karim", Role.AGENT)
BOSS = Actor.agent("boss", Role.ADMIN)

EDITS = {
    "phone": OrderEdit(phone="0661234567"),
    "city": OrderEdit(city="Marrakech"),
    "address": OrderEdit(address="3 derb Sidi Bouloukat"),
    "quantities": OrderEdit(quantities={1: 5}),
    "all at once": OrderEdit(
        phone="0661234567", city="Marrakech", address="3 derb Sidi Bouloukat", quantities={1: 5}
    ),
}


async def stored(services: Services, order_id: int) -> dict[str, Any]:
    """Everything an edit could write: the order, its items, timeline, the ledger, stock."""
    one, rows = services.db.fetchone, services.db.fetchall
    return {
        "order": dict(await one("SELECT * FROM orders WHERE id = ?", (order_id,))),
        "items": [tuple(r) for r in await rows("SELECT * FROM order_items ORDER BY rowid")],
        "events": [tuple(r) for r in await rows("SELECT * FROM status_events ORDER BY id")],
        "ledger": [tuple(r) for r in await rows("SELECT * FROM stock_movements ORDER BY id")],
        "outbox": [tuple(r) for r in await rows("SELECT * FROM outbox ORDER BY id")],
        "stock": [tuple(r) for r in await rows("SELECT sku, on_hand FROM products ORDER BY sku")],
    }


def test_the_locked_statuses_are_canceled_fake_and_confirmed() -> None:
    assert {C.CANCELED, C.FAKE, C.CONFIRMED} == LOCKED_CONFIRMATION


@pytest.mark.parametrize("actor", [KARIM, BOSS], ids=["agent", "admin"])
@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
@pytest.mark.parametrize("status", [C.CANCELED, C.FAKE, C.CONFIRMED], ids=str)
async def test_a_locked_order_refuses_every_edit_and_keeps_what_it_had(
    services: Services, shop: Shop, status: Confirmation, edit: OrderEdit, actor: Actor
) -> None:
    order_id = await shop.order(items=(("ARGAN", 2),))
    # There the way an agent gets it there: the call's outcome, through the service.
    await services.status.apply(BOSS, Move(order_id, StatusKind.CONFIRMATION, status))
    order = await services.orders.get(order_id)
    assert order.confirmation is status
    before = await stored(services, order_id)

    with pytest.raises(OrderLocked, match=f"is {status}: it can't be edited"):
        await services.orders.edit(actor, order_id, edit, order.version)

    assert await stored(services, order_id) == before


@pytest.mark.parametrize("status", [C.NEW, C.NO_ANSWER, C.CALL_LATER], ids=str)
async def test_an_order_still_in_the_queue_takes_the_same_edit(
    services: Services, shop: Shop, status: Confirmation
) -> None:
    """The other side of the rule: the refusal above is the status's, not the edit's."""
    order_id = await shop.order(items=(("ARGAN", 2),))
    if status is not C.NEW:
        later = services.clock() + timedelta(hours=2) if status is C.CALL_LATER else None
        await services.status.apply(
            KARIM, Move(order_id, StatusKind.CONFIRMATION, status, callback_at=later)
        )
    order = await services.orders.get(order_id)
    edited = await services.orders.edit(KARIM, order_id, EDITS["all at once"], order.version)
    assert (edited.phone, edited.city, edited.address) == (
        "+212661234567",
        "Marrakech",
        "3 derb Sidi Bouloukat",
    )
    assert [item.qty for item in edited.items] == [5]
    assert edited.total_cents == 5 * 10000
