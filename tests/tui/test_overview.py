"""The overview: rates, cash, each agent's calls today, orders per day, carrier health."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FrozenClock, Shop
from rich.console import Console
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Sparkline, Static

from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Confirmation, Role, Shipping, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.status import Move
from codspot_tui.settings import Settings
from codspot_tui.store.parcels import note_health, note_unmapped
from codspot_tui.tui.app import CodspotApp
from codspot_tui.tui.screens import overview
from codspot_tui.tui.screens.overview import CarrierRow, OverviewScreen

from .conftest import make_app, settle

C, S = Confirmation, Shipping
CONF, SHIP = StatusKind.CONFIRMATION, StatusKind.SHIPPING
KARIM = Actor.agent("karim", Role.AGENT)
SALMA = Actor.agent("salma", Role.AGENT)


async def open_overview(pilot: Pilot[None]) -> OverviewScreen:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, OverviewScreen)
    return screen


def carriers(app: CodspotApp) -> dict[str, list[str]]:
    """Each carrier's state lines, by carrier."""
    return {
        row.carrier: [" ".join(line.split()) for line in row.state.plain.splitlines()]
        for row in app.screen.query(CarrierRow)
    }


def panel(app: CodspotApp, name: str) -> str:
    """A panel's text as the person reads it, one line per row, spaces folded."""
    content = app.screen.query_one(f"#{name}", Static).content
    if isinstance(content, Content):
        text = content.plain
    else:  # a Rich renderable (the agents' table)
        console = Console(width=100, file=io.StringIO(), record=True, color_system=None)
        console.print(content)
        text = console.export_text()
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


async def a_day_of_work(services: Services, shop: Shop, clock: FrozenClock) -> None:
    await shop.product("ARGAN", stock=100)

    async def order(qty: int) -> int:
        return await shop.order(items=(("ARGAN", qty),), delivery="local")

    delivered, on_its_way, coming_back = await order(12), await order(15), await order(10)
    refused, fake, unanswered = await order(1), await order(1), await order(1)
    clock.advance(days=-1)  # yesterday's calls are not today's figures
    await services.status.apply(KARIM, Move(refused, CONF, C.NO_ANSWER))
    clock.advance(days=1)
    await services.status.apply(KARIM, Move(delivered, CONF, C.CONFIRMED))
    await services.status.apply(KARIM, Move(on_its_way, CONF, C.CONFIRMED))
    await services.status.apply(KARIM, Move(refused, CONF, C.NO_ANSWER))
    await services.status.apply(KARIM, Move(refused, CONF, C.CANCELED))
    await services.status.apply(KARIM, Move(unanswered, CONF, C.NO_ANSWER))
    await services.status.apply(SALMA, Move(coming_back, CONF, C.CONFIRMED))
    await services.status.apply(SALMA, Move(fake, CONF, C.FAKE))
    for order_id, steps in (
        (delivered, (S.SHIPPED, S.DELIVERED)),
        (coming_back, (S.SHIPPED, S.IN_RETURN)),
    ):
        for step in steps:
            await services.status.apply(SALMA, Move(order_id, SHIP, step))


async def test_rates_and_cash_match_what_was_done(
    services: Services, shop: Shop, clock: FrozenClock, admin: Actor
) -> None:
    await a_day_of_work(services, shop, clock)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_overview(pilot)
        # 3 confirmed of 5 decided; 1 delivered and 1 in return of 2 parcels with an outcome.
        assert panel(app, "rates") == "Confirmation 60.0%\nDelivery 50.0%\nReturn 50.0%"
        # 12 and 15 units at 100.00 MAD: delivered, and still on its way to the customer.
        assert panel(app, "cash") == ("Delivered 1,200.00 MAD\nTo collect 1,500.00 MAD\nOrders 6")


async def test_each_agents_calls_today(
    services: Services, shop: Shop, clock: FrozenClock, admin: Actor
) -> None:
    await a_day_of_work(services, shop, clock)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_overview(pilot)
        lines = panel(app, "agents").splitlines()
        assert lines[0] == "Agent Calls Confirmed No answer Later Canceled/fake Rate"
        #   agent  calls  confirmed  no answer  later  canceled/fake  rate
        assert lines[1:] == [
            "karim 5 2 2 0 1 66.7%",
            "salma 2 1 0 0 1 50.0%",
            "all 7 3 2 0 2 60.0%",
        ]


async def test_r_refreshes_the_figures(
    services: Services, shop: Shop, clock: FrozenClock, admin: Actor
) -> None:
    await shop.product("ARGAN", stock=100)
    order_id = await shop.order(items=(("ARGAN", 15),), delivery="local")
    await services.status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))
    await shop.order(created_at=clock.now)  # today
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_overview(pilot)
        assert "To collect 1,500.00 MAD" in panel(app, "cash")
        assert screen.query_one(Sparkline).data[-1] == 1.0  # today, the last day drawn
        await services.status.apply(SALMA, Move(order_id, SHIP, S.DELIVERED))
        await shop.order(created_at=clock.now)
        await pilot.press("r")
        await settle(pilot)
        assert panel(app, "cash").splitlines()[:2] == [
            "Delivered 1,500.00 MAD",
            "To collect 0.00 MAD",
        ]
        assert screen.query_one(Sparkline).data[-1] == 2.0
        assert panel(app, "days-caption").startswith("today 2")


async def test_carrier_health_is_shown(
    services: Services, shop: Shop, clock: FrozenClock, admin: Actor
) -> None:
    await shop.product("ARGAN", stock=10)
    order_id = await shop.order(delivery="sandbox")
    await services.status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))  # parcel to create
    await services.db.write(lambda conn: note_health(conn, "sandbox", clock.now, error=None))
    await services.db.write(lambda conn: note_unmapped(conn, "sandbox", "LOST_AT_SEA", clock.now))
    clock.advance(minutes=5)
    await services.parcels.carrier_failed("sandbox", "connection refused by 127.0.0.1:8765")
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_overview(pilot)
        assert carriers(app) == {
            "sandbox": [
                "failing x1 last ok 09:00:00 pending sync 1 failed 0",
                "error 09:05:00: connection refused by 127.0.0.1:8765",
                "unmapped statuses: LOST_AT_SEA",
            ]
        }


async def test_a_healthy_carrier_says_ok(
    services: Services, clock: FrozenClock, admin: Actor
) -> None:
    await services.db.write(lambda conn: note_health(conn, "sandbox", clock.now, error=None))
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_overview(pilot)
        assert carriers(app) == {"sandbox": ["ok last ok 09:00:00 pending sync 0 failed 0"]}
        assert not app.screen.query_one("#no-carrier").display


async def test_at_80x24_what_does_not_fit_scrolls_into_view(
    services: Services, clock: FrozenClock, admin: Actor
) -> None:
    for n in range(12):
        await services.agents.add(admin, f"agent{n:02d}", Role.AGENT)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_overview(pilot)
        panel = screen.query_one("#carriers")
        assert panel.region.y >= 23 or panel.region.height == 0, "below the fold"
        await pilot.press("end")
        await settle(pilot)
        assert panel.region.y > 0 and panel.region.bottom <= 23  # above the footer
        assert screen.query_one("#overview").scroll_y > 0


async def test_at_120x40_everything_is_on_one_screen(services: Services, admin: Actor) -> None:
    app = make_app(services, admin)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_overview(pilot)
        assert screen.query_one("#overview").max_scroll_y == 0
        assert screen.query_one(Sparkline).size.width == 90  # three columns a day
        assert len(screen.query_one(Sparkline).data or []) == 90


async def test_another_process_s_change_shows_by_itself(
    services: Services,
    shop: Shop,
    clock: FrozenClock,
    admin: Actor,
    db_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A change right after a load waits for the next refresh slot (bursts merge into one).
    monkeypatch.setattr(overview, "RELOAD_EVERY", 1.0)
    await shop.product("ARGAN", stock=100)
    order_id = await shop.order(items=(("ARGAN", 15),), delivery="local")
    await services.status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_overview(pilot)
        assert "Delivered 0.00 MAD" in panel(app, "cash")
        other = await Services.open(db_path, settings, clock=clock)
        try:
            await other.status.apply(SALMA, Move(order_id, SHIP, S.DELIVERED))
        finally:
            await other.close()
        for _ in range(50):  # the app looks every 0.2 s; give it up to 5 s
            await pilot.pause(0.1)
            await pilot.app.workers.wait_for_complete()
            if "Delivered 1,500.00 MAD" in panel(app, "cash"):
                break
        assert "Delivered 1,500.00 MAD" in panel(app, "cash")


async def test_without_carriers_the_panel_says_so(
    services: Services, settings: Settings, clock: FrozenClock, admin: Actor
) -> None:
    local_only = Services.over(services.db, replace(settings, carriers={}), clock)
    app = make_app(local_only, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_overview(pilot)
        assert carriers(app) == {}
        assert panel(app, "no-carrier") == "No carrier configured."
