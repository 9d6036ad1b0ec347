"""The stock view, driven from the keyboard: figures per product, the ledger, adjustments."""

from __future__ import annotations

from conftest import Shop
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Confirmation, Role, Shipping, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.status import Move
from codspot_tui.tui.app import CodspotApp
from codspot_tui.tui.screens.stock import StockScreen
from codspot_tui.tui.widgets.adjust_dialog import AdjustDialog

from .conftest import make_app, settle

C, S = Confirmation, Shipping
CONF, SHIP = StatusKind.CONFIRMATION, StatusKind.SHIPPING
SALMA = Actor.agent("salma", Role.AGENT)


async def journey(services: Services, order_id: int, *steps: Shipping) -> None:
    await services.status.apply(SALMA, Move(order_id, CONF, C.CONFIRMED))
    for step in steps:
        await services.status.apply(SALMA, Move(order_id, SHIP, step))


async def open_stock(pilot: Pilot[None]) -> StockScreen:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, StockScreen)
    return screen


def row(app: CodspotApp, sku: str) -> dict[str, str]:
    """What the products table shows for `sku`, by column."""
    table = app.screen.query_one("#products", DataTable)
    cells = table.get_row(sku)
    names = [column.key.value for column in table.ordered_columns]
    return {str(name): _plain(cell) for name, cell in zip(names, cells, strict=True)}


def column(app: CodspotApp, table_id: str, key: str) -> list[str]:
    table = app.screen.query_one(f"#{table_id}", DataTable)
    return [_plain(cell) for cell in table.get_column(key)]


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def notes(app: CodspotApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_each_product_shows_on_hand_units_out_and_coming_back(
    services: Services, shop: Shop, admin: Actor
) -> None:
    await shop.product("ARGAN", stock=100, low=10)
    await shop.product("HENNA", stock=20, low=18)

    async def order(*items: tuple[str, int]) -> int:
        return await shop.order(items=items, delivery="local")

    await journey(services, await order(("ARGAN", 2)))
    await journey(services, await order(("ARGAN", 3), ("HENNA", 1)), S.SHIPPED)
    await journey(services, await order(("ARGAN", 4)), S.CANCELED)
    await journey(services, await order(("ARGAN", 5)), S.SHIPPED, S.IN_RETURN)
    await journey(services, await order(("ARGAN", 6)), S.SHIPPED, S.IN_RETURN, S.RETURNED)
    await journey(services, await order(("ARGAN", 7)), S.SHIPPED, S.DELIVERED)
    await services.status.apply(SALMA, Move(await order(("ARGAN", 8)), CONF, C.CANCELED))

    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_stock(pilot)
        argan = row(app, "ARGAN")
        assert (argan["on_hand"], argan["out"], argan["back"]) == (
            str(100 - (2 + 3 + 4 + 5 + 6 + 7) + 6),  # 79: returned goods are back
            str(2 + 3),
            str(4 + 5),
        )
        assert argan["mark"] == ""
        henna = row(app, "HENNA")
        assert (henna["on_hand"], henna["low"], henna["out"], henna["back"]) == (
            "19",
            "18",
            "1",
            "-",
        )
        assert henna["mark"] == ""
        assert column(app, "products", "sku") == ["ARGAN", "HENNA"]


async def test_low_and_out_of_stock_are_marked(
    services: Services, shop: Shop, admin: Actor
) -> None:
    await shop.product("ARGAN", stock=5, low=5)
    await shop.product("HENNA", stock=0, low=2)
    await shop.product("SAVON", stock=50, low=5)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stock(pilot)
        assert [row(app, sku)["mark"] for sku in ("ARGAN", "HENNA", "SAVON")] == [
            "LOW",
            "OUT",
            "",
        ]
        assert "2 low" in str(screen.query_one("#products", DataTable).border_subtitle)


async def test_enter_shows_the_ledger_newest_first(
    services: Services, shop: Shop, admin: Actor
) -> None:
    await shop.product("ARGAN", stock=50)
    await shop.product("HENNA", stock=9)
    first = await shop.order("A1", (("HENNA", 2),), delivery="local")
    await journey(services, first, S.SHIPPED, S.IN_RETURN, S.RETURNED)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stock(pilot)
        ledger = screen.query_one("#ledger", DataTable)
        assert not ledger.display
        await pilot.press("down", "enter")  # HENNA
        await settle(pilot)
        assert ledger.display
        assert column(app, "ledger", "reason") == ["returned", "confirmed", "restock"]
        assert column(app, "ledger", "delta") == ["+2", "-2", "+9"]
        assert column(app, "ledger", "order") == ["A1", "A1", ""]
        assert "HENNA" in str(ledger.border_title)
        await pilot.press("escape")
        await settle(pilot)
        assert not ledger.display


async def test_an_admin_adjusts_stock_and_sees_it_in_figures_and_ledger(
    services: Services, shop: Shop, admin: Actor
) -> None:
    await shop.product("ARGAN", stock=100)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_stock(pilot)
        await pilot.press("enter")  # the ledger is open while adjusting: it follows
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AdjustDialog)
        await pilot.press("-", "7", "enter")  # enter moves on to the reason
        await pilot.press(*"counted the shelf", "enter")
        await settle(pilot)
        assert isinstance(app.screen, StockScreen)
        assert (await services.stock.product("ARGAN")).on_hand == 93
        assert row(app, "ARGAN")["on_hand"] == "93"
        assert column(app, "ledger", "reason")[0] == "adjust"
        assert column(app, "ledger", "delta")[0] == "-7"
        assert column(app, "ledger", "note")[0] == "counted the shelf"
        [movement, *_] = await services.stock.history("ARGAN")
        assert (movement.delta, movement.actor, movement.note) == (
            -7,
            "agent:boss",
            "counted the shelf",
        )
        assert any("93 on hand" in note for note in notes(app))


async def test_an_agent_is_told_why_not_and_nothing_changes(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await shop.product("ARGAN", stock=100)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_stock(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, StockScreen), "no dialog for an agent"
        assert "only an admin may adjust stock (karim is an agent)" in notes(app)
        await pilot.press("5", "enter")  # keys typed after the refusal go nowhere harmful
        await settle(pilot)
    assert (await services.stock.product("ARGAN")).on_hand == 100
    assert len(await services.stock.history("ARGAN")) == 1


def dialog_errors(app: CodspotApp) -> tuple[str, str]:
    dialog = app.screen
    assert isinstance(dialog, AdjustDialog)
    return (
        str(dialog.query_one("#adjust-delta-error", Static).content),
        str(dialog.query_one("#adjust-reason-error", Static).content),
    )


async def test_the_dialog_checks_units_and_reason_before_anything_is_written(
    services: Services, shop: Shop, admin: Actor
) -> None:
    await shop.product("ARGAN", stock=100)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_stock(pilot)
        await pilot.press("a")
        await settle(pilot)
        delta = app.screen.query_one("#adjust-delta", Input)
        reason = app.screen.query_one("#adjust-reason", Input)

        await pilot.press("x", "y")  # not digits: the field takes none of it
        assert delta.value == ""
        await pilot.click("#adjust-ok")
        await settle(pilot)
        assert dialog_errors(app) == (
            "Type a number of units: 5 adds five, -2 takes two away",
            "The reason is empty",
        )

        delta.value = "0"
        reason.value = "   "
        await pilot.click("#adjust-ok")
        await settle(pilot)
        assert dialog_errors(app) == ("An adjustment of 0 changes nothing", "The reason is empty")

        delta.value = "-101"
        reason.value = "broken\x07bottles"
        await pilot.click("#adjust-ok")
        await settle(pilot)
        assert dialog_errors(app) == (
            "Stock can't go below zero: 100 on hand, -101 would leave it",
            "The reason contains control characters",
        )
        assert delta.has_focus, "the first field in error takes the cursor"

        delta.value = "-100"  # typing again clears that field's error
        await settle(pilot)
        assert dialog_errors(app)[0] == ""

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, StockScreen)
    assert (await services.stock.product("ARGAN")).on_hand == 100
    assert len(await services.stock.history("ARGAN")) == 1


async def test_slash_filters_products_and_escape_shows_them_all(
    services: Services, shop: Shop, admin: Actor
) -> None:
    for sku in ("ARGAN", "HENNA", "SAVON"):
        await shop.product(sku, stock=10)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_stock(pilot)
        await pilot.press("slash", *"enn")
        await settle(pilot)
        assert column(app, "products", "sku") == ["HENNA"]
        await pilot.press("enter", "a")  # enter leaves the filter for the table
        await settle(pilot)
        assert isinstance(app.screen, AdjustDialog)
        assert app.screen.product.sku == "HENNA"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert column(app, "products", "sku") == ["ARGAN", "HENNA", "SAVON"]
