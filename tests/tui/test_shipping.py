"""The shipping board, driven as an operator would: statuses, filters, paging, bulk moves."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import FrozenClock, Shop, wait_until, write_lock_held
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from codspot_tui.domain.errors import DatabaseError
from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Confirmation, Shipping, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.orders import OrderEdit
from codspot_tui.services.status import Move
from codspot_tui.settings import Settings
from codspot_tui.tui.app import CodspotApp
from codspot_tui.tui.screens.order_detail import OrderDetailScreen
from codspot_tui.tui.screens.shipping import PAGE, BoardTable, ShippingScreen
from codspot_tui.tui.widgets.move_menu import ForceMoveDialog, MoveMenu
from codspot_tui.tui.widgets.timeline import Timeline

from .conftest import make_app, settle

SANDBOX = Actor.carrier("sandbox")
BUSY = "the database is busy: another process held it for over 0.1 s"


async def confirmed(
    services: Services,
    shop: Shop,
    admin: Actor,
    count: int = 1,
    *,
    delivery: str = "sandbox",
    city: str | None = None,
) -> list[int]:
    """`count` confirmed orders (shipping `created`), oldest first."""
    ids = []
    for _ in range(count):
        order_id = await shop.order(delivery=delivery)
        if city is not None:
            order = await services.orders.get(order_id)
            await services.orders.edit(admin, order_id, OrderEdit(city=city), order.version)
        await services.status.apply(
            admin, Move(order_id, StatusKind.CONFIRMATION, Confirmation.CONFIRMED)
        )
        ids.append(order_id)
    return ids


async def carrier_moves(services: Services, order_id: int, *statuses: Shipping) -> None:
    for n, status in enumerate(statuses):
        move = Move(order_id, StatusKind.SHIPPING, status, carrier_event_id=f"{order_id}-{n}")
        result = await services.status.apply(SANDBOX, move)
        assert result.applied, result.reason


async def open_board(pilot: Pilot[None]) -> ShippingScreen:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ShippingScreen)
    return screen


def refs_on_board(screen: ShippingScreen) -> list[str]:
    table = screen.query_one(BoardTable)
    return [str(table.get_row_at(row)[1]) for row in range(table.row_count)]


def status_counts(screen: ShippingScreen) -> dict[str, int]:
    """What the side list says, read from its prompts: `created        3` -> 3."""
    found = {}
    for option in screen.query_one("#statuses", OptionList).options:
        words = str(option.prompt).split()
        found[str(option.id)] = int(words[-1].replace(",", ""))
    return found


def notes(app: CodspotApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def refs(services: Services, ids: list[int]) -> list[str]:
    return [(await services.orders.get(order_id)).ref for order_id in ids]


async def test_counts_per_status_from_the_side_list(
    services: Services, shop: Shop, admin: Actor
) -> None:
    created = await confirmed(services, shop, admin, 3)
    shipped = await confirmed(services, shop, admin, 2)
    for order_id in shipped:
        await carrier_moves(services, order_id, Shipping.SHIPPED)
    delivered = await confirmed(services, shop, admin, 1)
    await carrier_moves(services, delivered[0], Shipping.SHIPPED, Shipping.DELIVERED)
    await shop.order()  # still in the queue: no shipping status, not on the board
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        counts = status_counts(screen)
        assert counts["all"] == 6
        assert counts["created"] == len(created) == 3
        assert counts["shipped"] == 2
        assert counts["delivered"] == 1
        assert counts["returned"] == 0
        assert len(refs_on_board(screen)) == 6


async def test_the_first_page_is_in_the_boards_first_frame(
    services: Services, shop: Shop, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await confirmed(services, shop, admin, 3)
    rows_at_first_paint: list[int] = []
    render_line = BoardTable.render_line

    def noting_render_line(table: BoardTable, y: int) -> Any:
        if not rows_at_first_paint:
            rows_at_first_paint.append(table.row_count)
        return render_line(table, y)

    monkeypatch.setattr(BoardTable, "render_line", noting_render_line)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        # Read before the screen was laid out: never an empty table painted first.
        assert rows_at_first_paint == [3]
        assert refs_on_board(screen) == await refs(services, ids[::-1])


async def test_the_ref_stays_while_the_columns_scroll_sideways(
    services: Services, shop: Shop, admin: Actor
) -> None:
    ids = await confirmed(services, shop, admin, 30)
    [newest] = await refs(services, ids[-1:])
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        table = screen.query_one(BoardTable)
        assert "Shipping" in table.render_line(0).text
        assert "Total" not in table.render_line(0).text  # 80 columns: off to the right
        await pilot.press(*["right"] * 6)
        await settle(pilot)
        header, first_row = table.render_line(0).text, table.render_line(1).text
        assert "Total" in header and "Ref" in header and "Shipping" not in header
        assert newest in first_row  # the fixed ref column, still there
        await pilot.press("pagedown")
        assert table.cursor_row == table.scrollable_content_region.height - 1
        await pilot.press("end")
        assert table.cursor_row == 29 and table.scroll_y == table.max_scroll_y
        await pilot.press("home", "left", "left", "left", "left", "left", "left")
        await settle(pilot)
        assert table.cursor_row == 0 and table.scroll_x == 0


async def test_a_failed_first_read_is_a_notice_and_the_next_change_loads_the_board(
    services: Services,
    shop: Shop,
    admin: Actor,
    db_path: Path,
    settings: Settings,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = await confirmed(services, shop, admin, 2)
    real_page = services.orders.page
    # Made up, for once: no lock fails a read (WAL lets readers through a held write lock, as
    # the test below shows); a read fails on a damaged file or a full disk, say.
    failures = [DatabaseError("database is locked")]

    async def page(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real_page(*args, **kwargs)

    monkeypatch.setattr(services.orders, "page", page)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        assert "database is locked" in notes(app)
        assert refs_on_board(screen) == []
        other = await Services.open(db_path, settings, clock=clock)
        try:  # another process commits: the board reloads
            await carrier_moves(other, ids[0], Shipping.SHIPPED)
        finally:
            await other.close()
        await wait_until(lambda: bool(refs_on_board(screen)), "the board to load after the commit")
        assert refs_on_board(screen) == await refs(services, ids[::-1])


async def test_a_move_while_another_program_holds_the_write_lock_says_so_and_moves_nothing(
    services: Services,
    shop: Shop,
    admin: Actor,
    agent: Actor,
    db_path: Path,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    (order_id,) = await confirmed(services, shop, admin, 1)
    # The dashboard waits 0.1 s for a lock (busy_timeout_ms in the settings), not 5.
    impatient = await Services.open(db_path, replace(settings, busy_timeout_ms=100), clock=clock)
    try:
        app = make_app(impatient, agent)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_board(pilot)
            with write_lock_held(db_path):  # a long import, say
                await pilot.press("m")
                await settle(pilot)
                await pilot.press("enter")  # the first entry: fulfilled
                await wait_until(
                    lambda: any(note.startswith(BUSY) for note in notes(app)),
                    "the board to say the database is busy",
                )
                assert refs_on_board(screen) == await refs(services, [order_id])
            assert (await services.orders.get(order_id)).shipping is Shipping.CREATED
            assert status_counts(screen)["created"] == 1
            # The lock is gone: the same move, asked again, goes through.
            await pilot.press("m")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert (await services.orders.get(order_id)).shipping is Shipping.FULFILLED
            assert status_counts(screen)["fulfilled"] == 1
    finally:
        await impatient.close()


async def test_filter_by_status_carrier_city_and_text(
    services: Services, shop: Shop, admin: Actor
) -> None:
    sandbox = await confirmed(services, shop, admin, 2)
    await carrier_moves(services, sandbox[0], Shipping.SHIPPED)
    local = await confirmed(services, shop, admin, 2, delivery="local", city="Rabat")
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        assert len(refs_on_board(screen)) == 4
        # Status from the side list: `s` focuses it, enter picks.
        await pilot.press("s", "down", "down", "down", "enter")
        await settle(pilot)
        assert refs_on_board(screen) == await refs(services, [sandbox[0]])
        # Back to all, then by carrier: the counts follow the filter.
        await pilot.press("s", "home", "enter")
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"carrier:local")
        await pilot.press("enter")
        await settle(pilot)
        assert sorted(refs_on_board(screen)) == sorted(await refs(services, local))
        assert status_counts(screen)["all"] == 2
        assert status_counts(screen)["shipped"] == 0
        # By city, typed in any case.
        await pilot.press("slash", "ctrl+u", *"city:rabat", "enter")
        await settle(pilot)
        assert sorted(refs_on_board(screen)) == sorted(await refs(services, local))
        # Free text: a ref.
        wanted = (await refs(services, [sandbox[1]]))[0]
        await pilot.press("slash", "ctrl+u", *wanted, "enter")
        await settle(pilot)
        assert refs_on_board(screen) == [wanted]
        # Escape clears it all.
        await pilot.press("escape")
        await settle(pilot)
        assert len(refs_on_board(screen)) == 4
        assert not screen.query_one("#filter", Input).has_class("open")


async def test_status_typed_in_the_filter_and_a_bad_one_is_named(
    services: Services, shop: Shop, admin: Actor
) -> None:
    ids = await confirmed(services, shop, admin, 2)
    await carrier_moves(services, ids[1], Shipping.SHIPPED)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        await pilot.press("slash", *"status:flying", "enter")
        await settle(pilot)
        assert any("unknown shipping status" in note for note in notes(app))
        await pilot.press("ctrl+u", *"status:shipped", "enter")
        await settle(pilot)
        assert refs_on_board(screen) == await refs(services, [ids[1]])


async def test_the_list_is_paged_and_the_end_loads_more(
    services: Services, shop: Shop, admin: Actor
) -> None:
    await shop.product("ARGAN", stock=1000)
    total = PAGE * 2 + 30
    await confirmed(services, shop, admin, total)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        table = screen.query_one(BoardTable)
        assert table.row_count == PAGE  # one page, never the whole table
        assert status_counts(screen)["all"] == total
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert table.row_count == 2 * PAGE
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert table.row_count == total
        ids = [order.id for order in screen.orders]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == total
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert table.row_count == total  # nothing more to load


async def test_enter_opens_the_order_with_its_whole_timeline(
    services: Services, shop: Shop, admin: Actor
) -> None:
    [order_id] = await confirmed(services, shop, admin)
    await carrier_moves(services, order_id, Shipping.SHIPPED, Shipping.PACKAGE_ISSUE)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_board(pilot)
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, OrderDetailScreen)
        timeline = str(detail.query_one(Timeline).render())
        assert "new > confirmed" in timeline
        assert "created > shipped" in timeline
        assert "shipped > package issue" in timeline
        assert "carrier:sandbox" in timeline
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ShippingScreen)


async def test_marked_orders_offer_only_the_moves_all_of_them_allow(
    services: Services, shop: Shop, admin: Actor, agent: Actor
) -> None:
    ids = await confirmed(services, shop, admin, 3)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        await pilot.press("space", "space")  # marks the two newest, the cursor moves on
        await settle(pilot)
        assert screen.marked == set(ids[1:])
        await pilot.press("m")
        await settle(pilot)
        menu = app.screen
        assert isinstance(menu, MoveMenu)
        offered = [option.id for option in menu.query_one(OptionList).options]
        # An operator of a connected carrier: never `shipped` (the carrier's pickup scan).
        assert offered == ["fulfilled", "canceled"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ShippingScreen)


async def test_mixed_statuses_offer_their_common_moves_only(
    services: Services, shop: Shop, admin: Actor, agent: Actor
) -> None:
    ids = await confirmed(services, shop, admin, 2)
    await services.status.apply(agent, Move(ids[0], StatusKind.SHIPPING, Shipping.FULFILLED))
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_board(pilot)
        await pilot.press("space", "space", "m")
        await settle(pilot)
        menu = app.screen
        assert isinstance(menu, MoveMenu)
        # created allows fulfilled, canceled; fulfilled allows canceled, returned.
        assert [option.id for option in menu.query_one(OptionList).options] == ["canceled"]


async def test_applying_a_move_is_one_batch_and_says_what_happened(
    services: Services,
    shop: Shop,
    admin: Actor,
    agent: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = await confirmed(services, shop, admin, 3)
    batches: list[int] = []
    real = services.status.apply_batch

    async def counted(actor: Actor, moves: Any) -> Any:
        batches.append(len(moves))
        return await real(actor, moves)

    monkeypatch.setattr(services.status, "apply_batch", counted)
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        await pilot.press("space", "space", "space")
        # Behind the board's back the carrier picks one up: that move must be refused.
        await carrier_moves(services, ids[0], Shipping.SHIPPED)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("enter")  # the first entry: fulfilled
        await settle(pilot)
        assert batches == [3]
        after = [(await services.orders.get(order_id)).shipping for order_id in ids]
        assert after == [Shipping.SHIPPED, Shipping.FULFILLED, Shipping.FULFILLED]
        assert any(
            note.startswith("2 moved, 1 refused:") and "changed since" in note
            for note in notes(app)
        )
        # The board shows the new state, and only the refused order stays marked.
        assert screen.marked == {ids[0]}
        assert status_counts(screen)["fulfilled"] == 2
        assert status_counts(screen)["created"] == 0


async def test_local_delivery_offers_the_carrier_column_too(
    services: Services, shop: Shop, admin: Actor, agent: Actor
) -> None:
    await confirmed(services, shop, admin, 1, delivery="local")
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_board(pilot)
        await pilot.press("m")
        await settle(pilot)
        menu = app.screen
        assert isinstance(menu, MoveMenu)
        offered = {option.id for option in menu.query_one(OptionList).options}
        assert offered == {"fulfilled", "shipped", "package_issue", "delivered", "canceled"} | {
            "in_return"
        }
        await pilot.press("down", "enter")  # shipped, by hand
        await settle(pilot)
        order = await services.orders.get(screen_order_id(app))
        assert order.shipping is Shipping.SHIPPED


def screen_order_id(app: CodspotApp) -> int:
    screen = app.screen
    assert isinstance(screen, ShippingScreen)
    return screen.orders[0].id


async def test_only_an_admin_may_force_and_must_say_why(
    services: Services, shop: Shop, admin: Actor, agent: Actor
) -> None:
    [order_id] = await confirmed(services, shop, admin)
    await carrier_moves(services, order_id, Shipping.SHIPPED)  # no operator move left
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_board(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ShippingScreen)  # nothing to offer an agent
        assert any("No move is open to you" in note for note in notes(app))

    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_board(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert [o.id for o in app.screen.query_one(OptionList).options] == ["force"]
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ForceMoveDialog)
        offered = [o.id for o in dialog.query_one(OptionList).options]
        assert "shipped" not in offered and "delivered" in offered
        index = offered.index("delivered")
        await pilot.press(*["down"] * index, "enter")  # picks, then the note
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ForceMoveDialog)  # no note, no move
        await pilot.press(*"customer paid at the office", "enter")
        await settle(pilot)
        order = await services.orders.get(order_id, with_events=True)
        assert order.shipping is Shipping.DELIVERED
        assert order.events[-1].source == "forced"
        assert order.events[-1].note == "customer paid at the office"


async def test_r_asks_the_worker_to_poll_now(
    services: Services, shop: Shop, admin: Actor, agent: Actor
) -> None:
    ids = await confirmed(services, shop, admin, 3)
    await confirmed(services, shop, admin, 1, delivery="local")
    for job in await services.parcels.due_jobs():
        await services.parcels.parcel_created(job, f"TRK{job.order_id}")
    await carrier_moves(services, ids[2], Shipping.SHIPPED, Shipping.DELIVERED)
    now = services.clock()

    async def polls() -> dict[int, str | None]:
        rows = await services.db.fetchall("SELECT id, next_poll_at FROM orders ORDER BY id")
        return {row[0]: row[1] for row in rows}

    stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    before = await polls()
    assert before[ids[0]] != stamp and before[ids[1]] != stamp
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        # Marked: only that one. The cursor starts on the newest (the local one).
        rows = [order.id for order in screen.orders]
        await pilot.press(*["down"] * rows.index(ids[1]), "space", "r")
        await settle(pilot)
        after = await polls()
        assert after[ids[1]] == stamp and after[ids[0]] == before[ids[0]]
        assert any("polls 1 marked parcel" in note for note in notes(app))
        # Nothing marked: every parcel still followed; never local or delivered ones.
        await pilot.press("escape", "r")
        await settle(pilot)
        after = await polls()
        assert after[ids[0]] == after[ids[1]] == stamp
        assert after[ids[2]] == before[ids[2]] != stamp  # delivered: final
        local = max(after)
        assert after[local] is None
        assert any("polls 2 parcel" in note for note in notes(app))


async def test_others_moves_show_up_keeping_the_cursor_and_the_marks(
    services: Services,
    shop: Shop,
    admin: Actor,
    db_path: Path,
    settings: Settings,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ShippingScreen, "count_every", 0.0)
    ids = await confirmed(services, shop, admin, 4)
    app = make_app(services, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        table = screen.query_one(BoardTable)
        await pilot.press("space", "down", "space", "up")  # marks ids[3] and ids[1]
        assert screen.marked == {ids[3], ids[1]}
        assert screen.current_id() == ids[1]
        # Another process: the carrier ships ids[2], an agent confirms a new order (on top).
        other = await Services.open(db_path, settings, clock=clock)
        try:
            await carrier_moves(other, ids[2], Shipping.SHIPPED)
            newest = await shop.order()
            await other.status.apply(
                admin, Move(newest, StatusKind.CONFIRMATION, Confirmation.CONFIRMED)
            )
        finally:
            await other.close()
        for _ in range(50):  # the app looks for others' commits every 0.2 s
            await pilot.pause(0.05)
            await settle(pilot)
            if screen.orders and screen.orders[0].id == newest:
                break
        assert [order.id for order in screen.orders] == [newest, *reversed(ids)]
        assert screen.current_id() == ids[1]  # the cursor stayed on its order
        assert screen.marked == {ids[3], ids[1]}
        assert str(table.get_row(str(ids[1]))[0]) == "*"
        assert str(table.get_row(str(ids[2]))[2]) == "shipped"
        assert status_counts(screen)["shipped"] == 1
        assert status_counts(screen)["all"] == 5
