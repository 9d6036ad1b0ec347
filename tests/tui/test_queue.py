"""The confirmation queue, driven as an agent would: one key per outcome."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import FrozenClock, Shop, wait_until
from textual.widgets import Digits, Input, OptionList

from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Confirmation
from codspot_tui.services.bundle import Services
from codspot_tui.tui.screens.queue import QueueScreen

from .conftest import make_app, settle


async def orders_in_queue(shop: Shop, count: int = 3) -> list[int]:
    await shop.product("ARGAN", stock=50)
    return [await shop.order(f"Q{n}", (("ARGAN", 2),)) for n in range(1, count + 1)]


def card_ref(app: object) -> str | None:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, QueueScreen)
    return None if screen.order is None else screen.order.ref


async def test_opening_the_queue_claims_the_oldest_order(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await orders_in_queue(shop)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert card_ref(app) == "Q1"
        order = await services.orders.get(await services.orders.resolve("Q1"))
        assert order.claimed_by == "karim"
        digits = app.screen.query_one(Digits)
        assert digits.value.replace(" ", "").startswith("06")  # dialled as at home


async def test_the_first_card_is_in_the_first_frame(
    services: Services, shop: Shop, agent: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    await orders_in_queue(shop)
    phones_at_first_paint: list[str] = []
    render = Digits.render

    def noting_render(digits: Digits) -> Any:
        if not phones_at_first_paint:
            phones_at_first_paint.append(digits.value)
        return render(digits)

    monkeypatch.setattr(Digits, "render", noting_render)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # Claimed before the screen was laid out: never an empty card painted first.
        assert phones_at_first_paint == [app.screen.query_one(Digits).value] != [""]
        assert card_ref(app) == "Q1"


async def test_each_outcome_key_moves_the_order_and_brings_the_next(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await orders_in_queue(shop, 4)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = [card_ref(app)]
        for key, expected in (("c", "confirmed"), ("n", "no_answer"), ("f", "fake")):
            await pilot.press(key)
            await settle(pilot)
            moved = await services.orders.get(await services.orders.resolve(shown[-1] or ""))
            assert moved.confirmation == expected, key
            shown.append(card_ref(app))
        assert (await services.stock.product("ARGAN")).on_hand == 48
        # Oldest first, each brought as the one before was answered; the last one is claimed
        # for this agent and waits for its call.
        assert shown == ["Q1", "Q2", "Q3", "Q4"]
        last = await services.orders.get(await services.orders.resolve("Q4"))
        assert (last.confirmation, last.claimed_by) == (Confirmation.NEW, "karim")


async def test_cancel_asks_for_an_optional_reason(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await orders_in_queue(shop, 2)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one(Input).value = "changed her mind"
        await pilot.press("enter")
        await settle(pilot)
    order = await services.orders.get(await services.orders.resolve("Q1"), with_events=True)
    assert order.confirmation is Confirmation.CANCELED
    assert order.events[-1].note == "changed her mind"


async def test_escape_in_a_dialog_changes_nothing(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await orders_in_queue(shop, 1)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in ("x", "l", "e"):
            await pilot.press(key)
            await pilot.pause()
            await pilot.press("escape")
            await settle(pilot)
        assert card_ref(app) == "Q1"
    assert (await services.orders.get(await services.orders.resolve("Q1"))).version == 1


async def test_call_later_presets_and_typed_time(
    services: Services, shop: Shop, agent: Actor, clock: FrozenClock
) -> None:
    await orders_in_queue(shop, 2)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await pilot.pause()
        assert app.screen.query_one(OptionList).option_count == 3
        await pilot.press("down", "enter")  # in 2 hours
        await settle(pilot)
        await pilot.press("l")
        await pilot.pause()
        app.screen.query_one(Input).focus()
        await pilot.press(*"25:99", "enter")
        await pilot.pause()
        assert "16:30" in str(app.screen.query_one("#problem").render())
        await pilot.press(*("backspace",) * 5, *"+45", "enter")
        await settle(pilot)
    first = await services.orders.get(await services.orders.resolve("Q1"))
    second = await services.orders.get(await services.orders.resolve("Q2"))
    assert first.confirmation is Confirmation.CALL_LATER
    assert first.callback_at == clock.now + timedelta(hours=2)
    assert second.callback_at == clock.now + timedelta(minutes=45)


async def test_edit_before_confirming(services: Services, shop: Shop, agent: Actor) -> None:
    await orders_in_queue(shop, 1)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#phone", Input).value = "0661234567"
        dialog.query_one("#city", Input).value = "Marrakech"
        dialog.query_one("#qty-1", Input).value = "3"
        await pilot.click("#save")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
    order = await services.orders.get(await services.orders.resolve("Q1"))
    assert (order.phone, order.city, order.items[0].qty) == ("+212661234567", "Marrakech", 3)
    assert order.total_cents == 3 * 10000
    assert order.confirmation is Confirmation.CONFIRMED
    assert (await services.stock.product("ARGAN")).on_hand == 47


async def test_a_refusal_keeps_the_card_and_says_why(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await shop.product("ARGAN", stock=1)
    await shop.order("Q1", (("ARGAN", 2),))
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert card_ref(app) == "Q1"
        messages = [n.message for n in app._notifications]
        assert any("Stock short: ARGAN has 1" in m for m in messages), messages


async def test_skip_moves_on_and_releases(services: Services, shop: Shop, agent: Actor) -> None:
    await orders_in_queue(shop, 2)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert card_ref(app) == "Q2"
    first = await services.orders.get(await services.orders.resolve("Q1"))
    assert first.claimed_by is None and first.confirmation is Confirmation.NEW


async def test_two_agents_never_see_the_same_order_and_see_each_others_moves(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await orders_in_queue(shop, 3)
    other = await Services.open(services.db.path, services.settings, clock=services.clock)
    try:
        salma = await other.agents.identify("salma")
        first, second = make_app(services, agent), make_app(other, salma)
        async with first.run_test(size=(80, 24)) as one, second.run_test(size=(80, 24)) as two:
            await settle(one)
            await settle(two)
            assert {card_ref(first), card_ref(second)} == {"Q1", "Q2"}
            counts_before = str(first.screen.query_one("#counts").render())
            await two.press("f")
            await settle(two)
            # The first app notices the other process's commit by itself (it watches the
            # database), with no key pressed.
            await wait_until(
                lambda: str(first.screen.query_one("#counts").render()) != counts_before,
                "the first dashboard to count the other agent's move",
            )
    finally:
        await other.close()
