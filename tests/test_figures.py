"""FiguresService: stock on the road, agents' work today, orders per day, and the indexes that
keep each of them cheap at a million orders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone

from conftest import FrozenClock, Shop

from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Confirmation, Role, Shipping, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.figures import FiguresService
from codspot_tui.services.status import Move

C, S = Confirmation, Shipping
CONF, SHIP = StatusKind.CONFIRMATION, StatusKind.SHIPPING
KARIM = Actor.agent("karim", Role.AGENT)
SALMA = Actor.agent("salma", Role.AGENT)
CASABLANCA = timezone(timedelta(hours=1))  # local midnight of 28/11 is 27/11 23:00 UTC


async def journey(services: Services, order_id: int, *steps: Shipping) -> None:
    """Confirm a local-delivery order, then make each shipping move by hand."""
    await services.status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))
    for step in steps:
        await services.status.apply(KARIM, Move(order_id, SHIP, step))


async def test_stock_lines_count_units_out_and_coming_back(services: Services, shop: Shop) -> None:
    await shop.product("ARGAN", stock=100, low=80)
    await shop.product("HENNA", stock=100)

    async def order(*items: tuple[str, int]) -> int:
        return await shop.order(items=items, delivery="local")

    await journey(services, await order(("ARGAN", 2)))  # created: out
    await journey(services, await order(("ARGAN", 1), ("HENNA", 3)), S.SHIPPED)  # out
    await journey(services, await order(("ARGAN", 1), ("ARGAN", 2)), S.FULFILLED)  # two lines
    await journey(services, await order(("ARGAN", 4)), S.CANCELED)  # expected back
    await journey(services, await order(("ARGAN", 5)), S.SHIPPED, S.IN_RETURN)  # expected back
    await journey(services, await order(("ARGAN", 6)), S.SHIPPED, S.IN_RETURN, S.RETURNED)
    await journey(services, await order(("ARGAN", 7)), S.SHIPPED, S.DELIVERED)
    canceled = await order(("ARGAN", 8))
    await services.status.apply(KARIM, Move(canceled, CONF, C.CANCELED))
    await order(("ARGAN", 9))  # new: nobody called yet

    lines = {line.product.sku: line for line in await FiguresService(services.db).stock_lines()}

    argan, henna = lines["ARGAN"], lines["HENNA"]
    assert (argan.product.on_hand, argan.units_out, argan.units_back) == (
        100 - (2 + 1 + 3 + 4 + 5 + 6 + 7) + 6,
        2 + 1 + 3,
        4 + 5,
    )
    assert argan.product.is_low  # 78 on hand, low mark 80
    assert (henna.product.on_hand, henna.units_out, henna.units_back) == (97, 3, 0)
    assert not henna.product.is_low
    assert list(lines) == ["ARGAN", "HENNA"]


async def test_a_product_nobody_ordered_has_nothing_on_the_road(
    services: Services, shop: Shop
) -> None:
    await shop.product("KAFTAN", stock=4)
    [line] = await FiguresService(services.db).stock_lines()
    assert (line.product.sku, line.product.on_hand, line.units_out, line.units_back) == (
        "KAFTAN",
        4,
        0,
        0,
    )


async def test_agents_today_counts_each_outcome_since_local_midnight(
    services: Services, shop: Shop, clock: FrozenClock, admin: Actor
) -> None:
    await shop.product("ARGAN", stock=100)
    ids = [await shop.order(delivery="local") for _ in range(8)]
    # Yesterday in Casablanca (22:30 UTC is 23:30 local on the 27th): not today's work.
    clock.now = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)
    await services.status.apply(KARIM, Move(ids[0], CONF, C.NO_ANSWER))
    # Today in Casablanca, though still the 27th in UTC.
    clock.now = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    await services.status.apply(KARIM, Move(ids[0], CONF, C.CONFIRMED))
    clock.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    await services.status.apply(KARIM, Move(ids[1], CONF, C.CONFIRMED))
    await services.status.apply(KARIM, Move(ids[2], CONF, C.NO_ANSWER))
    await services.status.apply(
        KARIM, Move(ids[3], CONF, C.CALL_LATER, callback_at=clock.now + timedelta(hours=2))
    )
    await services.status.apply(KARIM, Move(ids[4], CONF, C.CANCELED))
    await services.status.apply(KARIM, Move(ids[5], CONF, C.FAKE))
    await services.status.apply(admin, Move(ids[6], CONF, C.CONFIRMED))
    await services.status.apply(KARIM, Move(ids[1], SHIP, S.SHIPPED))  # not a call

    figures = FiguresService(services.db, clock, tz=CASABLANCA)
    days = {day.agent: day for day in await figures.agents_today()}

    karim = days["karim"]
    assert (
        karim.calls,
        karim.confirmed,
        karim.no_answer,
        karim.call_later,
        karim.canceled_or_fake,
    ) == (6, 2, 1, 1, 2)
    assert karim.confirmation_rate == 0.5
    assert days["salma"].calls == 0  # an agent who made no call is listed, with zeros
    assert days["salma"].confirmation_rate is None
    assert days["boss"].confirmed == 1  # an admin who called today is listed too
    assert list(days) == ["boss", "karim", "salma"]


async def test_the_next_day_starts_from_zero(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    await shop.product("ARGAN", stock=10)
    order_id = await shop.order(delivery="local")
    await services.status.apply(KARIM, Move(order_id, CONF, C.NO_ANSWER))
    figures = FiguresService(services.db, clock, tz=CASABLANCA)
    assert {d.agent: d.calls for d in await figures.agents_today()}["karim"] == 1
    clock.advance(days=1)
    assert {d.agent: d.calls for d in await figures.agents_today()}["karim"] == 0


async def test_orders_per_day_are_local_days_oldest_first(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    await shop.product("ARGAN", stock=10)
    for created in (
        datetime(2026, 11, 27, 23, 30, tzinfo=UTC),  # 28/11 in Casablanca: today
        datetime(2026, 11, 28, 8, 0, tzinfo=UTC),  # today
        datetime(2026, 11, 27, 22, 30, tzinfo=UTC),  # 27/11 local
        datetime(2026, 10, 29, 23, 0, tzinfo=UTC),  # 30/10 local: the first day shown
        datetime(2026, 10, 29, 22, 59, tzinfo=UTC),  # 29/10 local: too old
        datetime(2026, 11, 29, 12, 0, tzinfo=UTC),  # tomorrow (a clock off): nobody's day
    ):
        await shop.order(created_at=created)

    days = await FiguresService(services.db, clock, tz=CASABLANCA).orders_per_day(30)

    assert len(days) == 30
    assert days[0].day == date(2026, 10, 30)
    assert days[-1].day == date(2026, 11, 28)
    counts = {d.day: d.orders for d in days if d.orders}
    assert counts == {date(2026, 11, 28): 2, date(2026, 11, 27): 1, date(2026, 10, 30): 1}


async def test_kpis_are_the_kpi_service_figures(services: Services, shop: Shop) -> None:
    await shop.product("ARGAN", stock=100)
    delivered = await shop.order(items=(("ARGAN", 12),), delivery="local")
    await journey(services, delivered, S.SHIPPED, S.DELIVERED)
    await journey(services, await shop.order(items=(("ARGAN", 3),), delivery="local"))
    kpis = await FiguresService(services.db).kpis()
    assert kpis.cash_delivered_cents == 12 * 10000
    assert kpis.cash_pending_cents == 3 * 10000


# --- cost: each query reads through the index meant for it (migration 0003) ---------------


async def plans_of(services: Services, figure: Callable[[], Awaitable[object]]) -> str:
    """The query plans of the SELECTs that computing `figure` runs, as SQLite reports them."""
    seen: list[str] = []
    await services.db.conn.set_trace_callback(seen.append)
    try:
        await figure()
    finally:
        await services.db.conn.set_trace_callback(None)
    plans = []
    for sql in seen:  # the trace spells bound values out: the plan is the one they get
        if sql.lstrip().upper().startswith("SELECT"):
            rows = await services.db.fetchall(f"EXPLAIN QUERY PLAN {sql}")
            plans += [str(row["detail"]) for row in rows]
    assert plans, "no query ran"
    return "\n".join(plans)


async def test_stock_figures_read_only_parcels_on_the_road(services: Services) -> None:
    found = await plans_of(services, FiguresService(services.db).stock_lines)
    assert "COVERING INDEX board_by_status (shipping=?)" in found
    assert "SCAN o\n" not in found + "\n" and "SCAN orders" not in found


async def test_todays_work_reads_only_todays_confirmation_events(services: Services) -> None:
    found = await plans_of(services, FiguresService(services.db).agents_today)
    assert "confirmation_events_by_time (at>?)" in found
    assert "SCAN status_events" not in found


async def test_orders_per_day_is_a_range_of_the_created_index(services: Services) -> None:
    found = await plans_of(services, FiguresService(services.db).orders_per_day)
    assert "COVERING INDEX orders_by_created (created_at>?)" in found


async def test_kpi_totals_come_from_an_index_alone(services: Services) -> None:
    found = await plans_of(services, FiguresService(services.db).kpis)
    assert "SCAN orders USING COVERING INDEX orders_status_cash" in found
    assert "TEMP B-TREE" not in found
