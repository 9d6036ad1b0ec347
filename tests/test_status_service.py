"""StatusService on a real SQLite file: every cell of DESIGN §1, then the behaviour around moves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from conftest import FrozenClock, Shop
from test_rules import EXPECTED, expected_refusal, statuses_of

from codspot_tui.domain.errors import (
    BadInput,
    ClaimedElsewhere,
    NotAdmin,
    OrderLocked,
    Refused,
    StaleOrder,
    StockShort,
)
from codspot_tui.domain.models import Actor
from codspot_tui.domain.rules import Mover
from codspot_tui.domain.statuses import Confirmation, Role, Shipping, StatusKind
from codspot_tui.domain.times import to_stored
from codspot_tui.services.bundle import Services
from codspot_tui.services.orders import OrderEdit
from codspot_tui.services.status import Move, StatusService
from codspot_tui.settings import Settings

C, S = Confirmation, Shipping
CONF, SHIP = StatusKind.CONFIRMATION, StatusKind.SHIPPING
KARIM = Actor.agent("karim", Role.AGENT)
SALMA = Actor.agent("salma", Role.AGENT)
BOSS = Actor.agent("boss", Role.ADMIN)
SANDBOX = Actor.carrier("sandbox")


# --- helpers: put an order in a state, look at everything a move could touch ----------------


async def put_in_state(
    services: Services, order_id: int, kind: StatusKind, status: C | S, *, attempts: int = 0
) -> None:
    """Set the order's statuses with SQL, as if earlier moves had led there."""
    confirmation, shipping = (status, None) if kind is CONF else (C.CONFIRMED, status)
    if confirmation is C.CONFIRMED and shipping is None:
        shipping = S.CREATED
    callback = (
        to_stored(services.clock() + timedelta(hours=2)) if confirmation is C.CALL_LATER else None
    )
    async with services.db.transaction() as conn:
        await conn.execute(
            """UPDATE orders SET confirmation = ?, shipping = ?, callback_at = ?, attempts = ?
               WHERE id = ?""",
            (confirmation.value, shipping and shipping.value, callback, attempts, order_id),
        )


async def snapshot(services: Services, order_id: int) -> dict[str, Any]:
    """Everything a move may write: the order row, its events, the ledger, the outbox, stock."""
    fetch = services.db.fetchall
    return {
        "order": dict(await services.db.fetchone("SELECT * FROM orders WHERE id = ?", (order_id,))),
        "events": [tuple(r) for r in await fetch("SELECT * FROM status_events ORDER BY id")],
        "ledger": [tuple(r) for r in await fetch("SELECT * FROM stock_movements ORDER BY id")],
        "outbox": [tuple(r) for r in await fetch("SELECT * FROM outbox ORDER BY id")],
        "stock": [tuple(r) for r in await fetch("SELECT sku, on_hand FROM products ORDER BY sku")],
    }


async def events(services: Services, order_id: int) -> list[dict[str, Any]]:
    rows = await services.db.fetchall(
        "SELECT * FROM status_events WHERE order_id = ? ORDER BY id", (order_id,)
    )
    return [dict(row) for row in rows]


async def on_hand(services: Services, sku: str) -> int:
    return (await services.stock.product(sku)).on_hand


async def ledger(services: Services, order_id: int) -> list[tuple[str, int, str]]:
    rows = await services.db.fetchall(
        """SELECT p.sku, m.delta, m.reason FROM stock_movements m
           JOIN products p ON p.id = m.product_id WHERE m.order_id = ? ORDER BY m.id""",
        (order_id,),
    )
    return [tuple(row) for row in rows]


async def confirmed_order(
    services: Services, shop: Shop, items: Sequence[tuple[str, int]] = (("ARGAN", 1),), **kw: Any
) -> int:
    """An order confirmed through the real service, as an agent would."""
    order_id = await shop.order(items=items, **kw)
    await services.status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))
    return order_id


# --- every cell, through the service -----------------------------------------------------------

# mover -> (actor, the order's delivery, force, audit actor label, audit source)
MOVERS: dict[Mover, tuple[Actor, str, bool, str, str]] = {
    Mover.OPERATOR: (KARIM, "sandbox", False, "agent:karim", "manual"),
    Mover.LOCAL_OPERATOR: (KARIM, "local", False, "agent:karim", "manual"),
    Mover.CARRIER: (SANDBOX, "sandbox", False, "carrier:sandbox", "carrier"),
    Mover.FORCE: (BOSS, "sandbox", True, "agent:boss", "forced"),
    Mover.SYSTEM: (Actor.system(), "sandbox", False, "system", "auto"),
}


async def _check_cell(
    services: Services, shop: Shop, mover: Mover, kind: StatusKind, current: Any, target: Any
) -> list[str]:
    actor, delivery, force, label, source = MOVERS[mover]
    cell = f"{kind} {current}->{target}"
    order_id = await shop.order(items=(("ARGAN", 1),), delivery=delivery)
    await put_in_state(services, order_id, kind, current)
    before = await snapshot(services, order_id)
    move = Move(
        order_id,
        kind,
        target,
        note="checked by hand" if force else None,
        callback_at=services.clock() + timedelta(hours=3),
        force=force,
    )
    allowed = target in EXPECTED[kind][mover][current]
    try:
        result = await services.status.apply(actor, move)
    except Refused as refusal:
        after = await snapshot(services, order_id)
        problems = []
        if allowed:
            problems.append(f"{cell}: refused ({refusal}) but DESIGN allows it")
        if after != before:
            problems.append(f"{cell}: refused but something was written")
        if refusal.exit_code != 3:
            problems.append(f"{cell}: exit code {refusal.exit_code}")
        # A carrier is refused outright on an order that is not its parcel yet.
        not_a_parcel = mover is Mover.CARRIER and kind is CONF and current is not C.CONFIRMED
        want = Refused if not_a_parcel else expected_refusal(kind, current)
        if not allowed and type(refusal) is not want:
            problems.append(f"{cell}: {type(refusal).__name__}, want {want.__name__}")
        return problems

    after = await snapshot(services, order_id)
    if not result.applied:
        # Only a carrier reporting the status the order already has is a silent no-op.
        if allowed or not (mover is Mover.CARRIER and current == target):
            return [f"{cell}: not applied ({result.reason}) without a refusal"]
        return [] if after == before else [f"{cell}: not applied but something was written"]
    if not allowed:
        return [f"{cell}: applied but DESIGN refuses it"]

    problems = []
    order = after["order"]
    if order[kind.value] != target or result.status != target:
        problems.append(f"{cell}: status is {order[kind.value]} / result {result.status}")
    if order["version"] != before["order"]["version"] + 1 or result.version != order["version"]:
        problems.append(f"{cell}: version {before['order']['version']} -> {order['version']}")
    new_events = after["events"][len(before["events"]) :]
    wanted = [(order_id, kind.value, current.value, target.value, label, source)]
    if target is C.CONFIRMED:  # shipping changed too, from nothing: a row of its own
        wanted.append((order_id, "shipping", None, "created", label, source))
    if [event[1:7] for event in new_events] != wanted:
        problems.append(f"{cell}: events {new_events}, want {wanted}")
    new_ledger = [(m[2], m[3], m[4]) for m in after["ledger"][len(before["ledger"]) :]]
    want_ledger = {
        C.CONFIRMED: [(-1, "confirmed", order_id)],
        S.RETURNED: [(1, "returned", order_id)],
    }.get(target, [])
    if new_ledger != want_ledger:
        problems.append(f"{cell}: ledger {new_ledger}, want {want_ledger}")
    if target is C.CONFIRMED and kind is CONF:
        want_sync = None if delivery == "local" else "pending"
        jobs = len(after["outbox"]) - len(before["outbox"])
        if (order["shipping"], order["sync"], jobs) != ("created", want_sync, int(bool(want_sync))):
            problems.append(f"{cell}: shipping/sync/outbox {order['shipping']}/{order['sync']}")
    elif after["outbox"] != before["outbox"]:
        problems.append(f"{cell}: wrote an outbox job")
    return problems


@pytest.mark.parametrize("mover", list(Mover))
async def test_every_cell_through_the_service(services: Services, shop: Shop, mover: Mover) -> None:
    await shop.product("ARGAN", stock=1000)
    mismatches: list[str] = []
    for kind in StatusKind:
        for current in statuses_of(kind):
            for target in statuses_of(kind):
                mismatches += await _check_cell(services, shop, mover, kind, current, target)
    assert mismatches == []


# --- confirming: stock, outbox, sync ------------------------------------------------------------


async def test_confirm_takes_stock_once_per_product_and_queues_the_parcel(
    services: Services, shop: Shop
) -> None:
    await shop.product("ARGAN", stock=10)
    await shop.product("SOAP", stock=5)
    order_id = await shop.order(items=(("ARGAN", 2), ("SOAP", 1), ("ARGAN", 1)))

    result = await services.status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))

    assert result.applied and result.status is C.CONFIRMED
    assert sorted(await ledger(services, order_id)) == [
        ("ARGAN", -3, "confirmed"),
        ("SOAP", -1, "confirmed"),
    ]
    assert (await on_hand(services, "ARGAN"), await on_hand(services, "SOAP")) == (7, 4)
    order = await services.orders.get(order_id)
    assert (order.shipping, order.sync) == (S.CREATED, "pending")
    jobs = await services.db.fetchall("SELECT order_id, carrier, done_at FROM outbox")
    assert [tuple(job) for job in jobs] == [(order_id, "sandbox", None)]


async def test_confirming_a_local_order_writes_no_outbox_job(
    services: Services, shop: Shop
) -> None:
    order_id = await shop.order(items=(("ARGAN", 2),), delivery="local")
    await services.status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))
    order = await services.orders.get(order_id)
    assert (order.shipping, order.sync) == (S.CREATED, None)
    assert await services.db.scalar("SELECT count(*) FROM outbox") == 0
    assert await ledger(services, order_id) == [("ARGAN", -2, "confirmed")]


async def test_confirm_refused_when_stock_short_names_sku_stock_and_need(
    services: Services, shop: Shop
) -> None:
    await shop.product("ARGAN-100", stock=1)
    await shop.product("SOAP", stock=9)
    # Two lines of one unit each: the check must add them up.
    order_id = await shop.order(items=(("SOAP", 1), ("ARGAN-100", 1), ("ARGAN-100", 1)))
    before = await snapshot(services, order_id)

    with pytest.raises(StockShort) as refused:
        await services.status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))

    message = str(refused.value)
    assert "ARGAN-100" in message and "has 1" in message and "needs 2" in message
    assert refused.value.exit_code == 3
    assert await snapshot(services, order_id) == before


async def test_admin_force_confirms_despite_short_stock_and_is_audited(
    services: Services, shop: Shop
) -> None:
    await shop.product("ARGAN", stock=1)
    order_id = await shop.order(items=(("ARGAN", 3),))

    result = await services.status.apply(
        BOSS, Move(order_id, CONF, C.CONFIRMED, force=True, note="supplier delivers tonight")
    )

    assert result.applied
    assert await on_hand(services, "ARGAN") == -2
    event, shipping = await events(services, order_id)
    assert (event["actor"], event["source"], event["note"]) == (
        "agent:boss",
        "forced",
        "supplier delivers tonight",
    )
    assert (shipping["kind"], shipping["from_status"], shipping["to_status"]) == (
        "shipping",
        None,
        "created",
    )
    assert (shipping["actor"], shipping["source"], shipping["at"]) == (
        "agent:boss",
        "forced",
        event["at"],
    )
    assert await ledger(services, order_id) == [("ARGAN", -3, "confirmed")]


async def test_admin_without_force_is_refused_on_short_stock_too(
    services: Services, shop: Shop
) -> None:
    await shop.product("ARGAN", stock=0)
    order_id = await shop.order()
    with pytest.raises(StockShort):
        await services.status.apply(BOSS, Move(order_id, CONF, C.CONFIRMED))


@pytest.mark.parametrize("note", [None, "", "   "])
async def test_force_without_a_note_is_bad_input(
    services: Services, shop: Shop, note: str | None
) -> None:
    order_id = await shop.order()
    before = await snapshot(services, order_id)
    with pytest.raises(BadInput):
        await services.status.apply(BOSS, Move(order_id, CONF, C.FAKE, force=True, note=note))
    assert await snapshot(services, order_id) == before


async def test_force_by_an_agent_is_not_admin(services: Services, shop: Shop) -> None:
    order_id = await confirmed_order(services, shop)
    before = await snapshot(services, order_id)
    with pytest.raises(NotAdmin):
        await services.status.apply(
            KARIM, Move(order_id, SHIP, S.SHIPPED, force=True, note="I saw the van")
        )
    assert await snapshot(services, order_id) == before


# --- stock on the shipping side ------------------------------------------------------------------


async def test_returned_restocks_exactly_once(services: Services, shop: Shop) -> None:
    await shop.product("ARGAN", stock=10)
    order_id = await confirmed_order(services, shop, items=(("ARGAN", 2), ("ARGAN", 1)))
    assert await on_hand(services, "ARGAN") == 7
    await services.status.apply(SANDBOX, Move(order_id, SHIP, S.CANCELED))
    await services.status.apply(SANDBOX, Move(order_id, SHIP, S.IN_RETURN))
    await services.status.apply(KARIM, Move(order_id, SHIP, S.RETURNED))
    assert await on_hand(services, "ARGAN") == 10

    # Nobody can make it return twice: not the operator, not a forced move.
    with pytest.raises(OrderLocked):
        await services.status.apply(KARIM, Move(order_id, SHIP, S.RETURNED))
    with pytest.raises(OrderLocked):
        await services.status.apply(
            BOSS, Move(order_id, SHIP, S.IN_RETURN, force=True, note="again")
        )
    assert await on_hand(services, "ARGAN") == 10
    assert await ledger(services, order_id) == [
        ("ARGAN", -3, "confirmed"),
        ("ARGAN", 3, "returned"),
    ]


async def test_canceled_and_the_other_shipping_moves_never_change_stock(
    services: Services, shop: Shop
) -> None:
    await shop.product("ARGAN", stock=10)
    by_operator = await confirmed_order(services, shop)
    by_carrier = await confirmed_order(services, shop)
    local = await confirmed_order(services, shop, delivery="local")
    await services.status.apply(KARIM, Move(by_operator, SHIP, S.CANCELED))
    for status in (S.SHIPPED, S.PACKAGE_ISSUE, S.CANCELED, S.IN_RETURN):
        await services.status.apply(SANDBOX, Move(by_carrier, SHIP, status))
    for status in (S.FULFILLED, S.SHIPPED, S.CANCELED):
        await services.status.apply(KARIM, Move(local, SHIP, status))
    assert await on_hand(services, "ARGAN") == 7
    assert [await ledger(services, o) for o in (by_operator, by_carrier, local)] == [
        [("ARGAN", -1, "confirmed")]
    ] * 3


# --- call outcomes ------------------------------------------------------------------------------


async def test_call_later_needs_a_callback_time(services: Services, shop: Shop) -> None:
    order_id = await shop.order()
    before = await snapshot(services, order_id)
    with pytest.raises(BadInput, match="callback"):
        await services.status.apply(KARIM, Move(order_id, CONF, C.CALL_LATER))
    assert await snapshot(services, order_id) == before


async def test_call_later_rejects_a_past_time_and_keeps_a_future_one(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    order_id = await shop.order()
    before = await snapshot(services, order_id)
    with pytest.raises(BadInput, match="past"):
        await services.status.apply(
            KARIM, Move(order_id, CONF, C.CALL_LATER, callback_at=clock() - timedelta(minutes=5))
        )
    assert await snapshot(services, order_id) == before

    when = clock() + timedelta(hours=4)
    await services.status.apply(KARIM, Move(order_id, CONF, C.CALL_LATER, callback_at=when))
    order = await services.orders.get(order_id)
    assert (order.confirmation, order.callback_at, order.attempts) == (C.CALL_LATER, when, 0)


async def test_no_answer_counts_attempts(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    order_id = await shop.order()
    for expected in (1, 2, 3):
        clock.advance(minutes=30)
        result = await services.status.apply(KARIM, Move(order_id, CONF, C.NO_ANSWER))
        order = await services.orders.get(order_id)
        assert (order.attempts, order.last_attempt_at) == (expected, clock())
        assert result.status is C.NO_ANSWER  # the limit is off by default
    assert [e["to_status"] for e in await events(services, order_id)] == ["no_answer"] * 3


async def test_max_attempts_auto_cancels_on_the_third_no_answer(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    status = StatusService(services.db, Settings(max_attempts=3), clock)
    order_id = await shop.order()
    for _ in range(2):
        result = await status.apply(KARIM, Move(order_id, CONF, C.NO_ANSWER))
        assert result.status is C.NO_ANSWER
    version = (await services.orders.get(order_id)).version

    result = await status.apply(KARIM, Move(order_id, CONF, C.NO_ANSWER))

    order = await services.orders.get(order_id)
    assert (result.status, order.confirmation, order.attempts) == (C.CANCELED, C.CANCELED, 3)
    assert order.version == result.version == version + 2
    timeline = [
        (e["from_status"], e["to_status"], e["actor"], e["source"])
        for e in await events(services, order_id)
    ]
    assert timeline[-2:] == [
        ("no_answer", "no_answer", "agent:karim", "manual"),
        ("no_answer", "canceled", "system", "auto"),
    ]
    assert len(timeline) == 4
    with pytest.raises(OrderLocked):
        await status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))


# --- who holds the order ------------------------------------------------------------------------


async def test_an_order_claimed_by_another_agent_waits_for_the_lease(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    order_id = await shop.order()
    await services.queue.claim(SALMA, order_id)
    before = await snapshot(services, order_id)

    with pytest.raises(ClaimedElsewhere, match="salma"):
        await services.status.apply(KARIM, Move(order_id, CONF, C.CONFIRMED))
    assert await snapshot(services, order_id) == before

    clock.advance(minutes=4)
    with pytest.raises(ClaimedElsewhere):
        await services.status.apply(KARIM, Move(order_id, CONF, C.NO_ANSWER))
    clock.advance(minutes=2)  # the 5-minute lease is over
    result = await services.status.apply(KARIM, Move(order_id, CONF, C.NO_ANSWER))
    assert result.applied
    order = await services.orders.get(order_id)
    assert (order.confirmation, order.claimed_by) == (C.NO_ANSWER, None)


async def test_the_claim_holder_may_move_and_the_move_releases_the_claim(
    services: Services, shop: Shop
) -> None:
    order_id = await shop.order()
    await services.queue.claim(SALMA, order_id)
    await services.status.apply(SALMA, Move(order_id, CONF, C.NO_ANSWER))
    assert (await services.orders.get(order_id)).claimed_by is None


async def test_a_stale_expected_version_is_refused(services: Services, shop: Shop) -> None:
    order_id = await shop.order()
    seen = (await services.orders.get(order_id)).version
    await services.status.apply(SALMA, Move(order_id, CONF, C.NO_ANSWER, expected_version=seen))
    before = await snapshot(services, order_id)

    with pytest.raises(StaleOrder):
        await services.status.apply(KARIM, Move(order_id, CONF, C.FAKE, expected_version=seen))

    assert await snapshot(services, order_id) == before
    result = await services.status.apply(
        KARIM, Move(order_id, CONF, C.FAKE, expected_version=seen + 1)
    )
    assert result.applied and result.version == seen + 2


# --- the carrier as actor -----------------------------------------------------------------------


async def test_a_carrier_moves_only_its_own_parcels(services: Services, shop: Shop) -> None:
    other = await confirmed_order(services, shop, delivery="ozon")
    local = await confirmed_order(services, shop, delivery="local")
    unconfirmed = await shop.order()
    for order_id, kind, to in (
        (other, SHIP, S.SHIPPED),
        (local, SHIP, S.SHIPPED),
        (unconfirmed, SHIP, S.SHIPPED),
        (unconfirmed, CONF, C.CANCELED),
    ):
        before = await snapshot(services, order_id)
        with pytest.raises(Refused) as refused:
            await services.status.apply(SANDBOX, Move(order_id, kind, to, carrier_event_id="x1"))
        assert refused.value.exit_code == 3
        assert await snapshot(services, order_id) == before


async def test_carrier_replays_and_repeats_change_nothing(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    order_id = await confirmed_order(services, shop)
    first = await services.status.apply(
        SANDBOX, Move(order_id, SHIP, S.SHIPPED, carrier_event_id="ev-1", at=clock())
    )
    assert first.applied
    before = await snapshot(services, order_id)

    clock.advance(minutes=10)
    replay = await services.status.apply(
        SANDBOX, Move(order_id, SHIP, S.DELIVERED, carrier_event_id="ev-1", at=clock())
    )
    same = await services.status.apply(
        SANDBOX, Move(order_id, SHIP, S.SHIPPED, carrier_event_id="ev-2", at=clock())
    )

    assert (replay.applied, same.applied) == (False, False)
    assert replay.status is S.SHIPPED and same.status is S.SHIPPED
    after = await snapshot(services, order_id)
    # Newer news that changes nothing is still news: what is dated before it is history now.
    assert after["order"].pop("last_carrier_event_at") == to_stored(clock())
    before["order"].pop("last_carrier_event_at")
    assert after == before


async def test_a_carrier_event_older_than_the_last_is_recorded_ignored(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    order_id = await confirmed_order(services, shop)
    t0 = clock()
    await services.status.apply_batch(
        SANDBOX, [Move(order_id, SHIP, S.PACKAGE_ISSUE, carrier_event_id="ev-2", at=t0)]
    )
    before = (await services.orders.get(order_id)).version

    # A delayed event from before the last one: applying it would move the parcel back in time.
    (result,) = await services.status.apply_batch(
        SANDBOX,
        [Move(order_id, SHIP, S.SHIPPED, carrier_event_id="ev-1", at=t0 - timedelta(hours=1))],
    )

    assert not result.applied
    order = await services.orders.get(order_id)
    assert (order.shipping, order.version) == (S.PACKAGE_ISSUE, before)
    last = (await events(services, order_id))[-1]
    assert (last["to_status"], last["ignored"], last["carrier_event_id"], last["actor"]) == (
        "shipped",
        1,
        "ev-1",
        "carrier:sandbox",
    )


# --- batches ------------------------------------------------------------------------------------


async def test_apply_batch_is_one_transaction(services: Services, shop: Shop) -> None:
    a, b = await shop.order(), await shop.order()
    statements: list[str] = []
    await services.db.conn.set_trace_callback(statements.append)
    try:
        results = await services.status.apply_batch(
            KARIM, [Move(a, CONF, C.NO_ANSWER), Move(b, CONF, C.FAKE)]
        )
    finally:
        await services.db.conn.set_trace_callback(None)
    assert [r.applied for r in results] == [True, True]
    begins = [s for s in statements if s.strip().upper().startswith("BEGIN")]
    commits = [s for s in statements if s.strip().upper().startswith("COMMIT")]
    assert (len(begins), len(commits)) == (1, 1)


async def test_a_batch_that_breaks_half_way_writes_nothing(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    a, b = await shop.order(), await shop.order()
    before = (await snapshot(services, a), await snapshot(services, b))
    naive = clock().replace(tzinfo=None) + timedelta(hours=1)  # a programming error, not a refusal
    with pytest.raises(TypeError):
        await services.status.apply_batch(
            KARIM, [Move(a, CONF, C.FAKE), Move(b, CONF, C.CALL_LATER, callback_at=naive)]
        )
    assert (await snapshot(services, a), await snapshot(services, b)) == before


async def test_refused_moves_in_a_batch_do_not_stop_the_others(
    services: Services, shop: Shop
) -> None:
    await shop.product("ARGAN", stock=10)
    first, locked, last = await shop.order(), await shop.order(), await shop.order()
    await services.status.apply(KARIM, Move(locked, CONF, C.FAKE))

    results = await services.status.apply_batch(
        KARIM,
        [
            Move(first, CONF, C.CONFIRMED),
            Move(locked, CONF, C.CONFIRMED),
            Move(999_999, CONF, C.CONFIRMED),
            Move(last, CONF, C.CALL_LATER),  # no callback time: bad input
            Move(last, CONF, C.NO_ANSWER),
        ],
    )

    assert [r.applied for r in results] == [True, False, False, False, True]
    assert all(r.reason for r in results if not r.applied)
    assert (await services.orders.get(first)).confirmation is C.CONFIRMED
    assert (await services.orders.get(locked)).confirmation is C.FAKE
    assert (await services.orders.get(last)).confirmation is C.NO_ANSWER
    # An agent's refusals are not written to the timeline.
    assert len(await events(services, locked)) == 1
    assert await on_hand(services, "ARGAN") == 9


async def test_carrier_batch_records_refusals_as_ignored_and_never_touches_stock(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    await shop.product("ARGAN", stock=10)
    delivered, moving = await confirmed_order(services, shop), await confirmed_order(services, shop)
    await services.status.apply(SANDBOX, Move(delivered, SHIP, S.DELIVERED, carrier_event_id="d"))
    stock_before = await on_hand(services, "ARGAN")
    ledger_before = await services.db.scalar("SELECT count(*) FROM stock_movements")
    batch = [
        Move(delivered, SHIP, S.IN_RETURN, carrier_event_id="e1", at=clock()),  # out of final
        Move(moving, SHIP, S.SHIPPED, carrier_event_id="e2", at=clock()),
        Move(moving, SHIP, S.RETURNED, carrier_event_id="e3", at=clock()),  # operator's move
        Move(moving, SHIP, S.CANCELED, carrier_event_id="e4", at=clock()),
    ]

    results = await services.status.apply_batch(SANDBOX, batch)

    assert [r.applied for r in results] == [False, True, False, True]
    assert (await services.orders.get(delivered)).shipping is S.DELIVERED
    assert (await services.orders.get(moving)).shipping is S.CANCELED
    ignored = await services.db.fetchall(
        "SELECT order_id, to_status, carrier_event_id, source FROM status_events"
        " WHERE ignored = 1 ORDER BY id"
    )
    assert [tuple(row) for row in ignored] == [
        (delivered, "in_return", "e1", "carrier"),
        (moving, "returned", "e3", "carrier"),
    ]
    assert await on_hand(services, "ARGAN") == stock_before
    assert await services.db.scalar("SELECT count(*) FROM stock_movements") == ledger_before

    # The same batch again, as a poller that crashed before saving its cursor would send it.
    again = await services.status.apply_batch(SANDBOX, batch)
    assert not any(r.applied for r in again)
    assert await services.db.scalar("SELECT count(*) FROM status_events WHERE ignored = 1") == 2
    assert (await services.orders.get(moving)).shipping is S.CANCELED


async def test_a_batch_sees_its_own_earlier_moves(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    # A batch reads its orders up front; a later move of the same order must see the earlier.
    order_id = await confirmed_order(services, shop)
    at = clock()
    results = await services.status.apply_batch(
        SANDBOX,
        [
            Move(order_id, SHIP, S.SHIPPED, carrier_event_id="p1", at=at),
            Move(order_id, SHIP, S.DELIVERED, carrier_event_id="p1", at=at),  # the same event
            Move(order_id, SHIP, S.SHIPPED, carrier_event_id="p2", at=at),  # already shipped
            Move(order_id, SHIP, S.DELIVERED, carrier_event_id="p3", at=at),
        ],
    )

    assert [(r.applied, r.duplicate, r.status) for r in results] == [
        (True, False, S.SHIPPED),
        (False, True, S.SHIPPED),
        (False, True, S.SHIPPED),
        (True, False, S.DELIVERED),
    ]
    assert results[1].reason == "carrier event already recorded"
    order = await services.orders.get(order_id)
    assert order.shipping is S.DELIVERED
    assert results[-1].version == order.version
    carrier_events = [e["carrier_event_id"] for e in await events(services, order_id)]
    assert carrier_events == [None, None, "p1", "p3"]  # confirmed, shipping created, moves


async def test_carrier_batch_leaves_other_orders_timelines_alone(
    services: Services, shop: Shop
) -> None:
    others = await confirmed_order(services, shop, delivery="ozon")
    unconfirmed = await shop.order()
    results = await services.status.apply_batch(
        SANDBOX,
        [
            Move(others, SHIP, S.DELIVERED, carrier_event_id="x1"),
            Move(unconfirmed, SHIP, S.SHIPPED, carrier_event_id="x2"),
        ],
    )
    assert not any(r.applied for r in results)
    assert [e["actor"] for e in await events(services, others)] == ["agent:karim"] * 2
    assert await events(services, unconfirmed) == []
    # Event ids are the carrier's own: ozon's event "x1" must not be taken for a replay.
    ozon = Actor.carrier("ozon")
    result = await services.status.apply(ozon, Move(others, SHIP, S.SHIPPED, carrier_event_id="x1"))
    assert result.applied


async def test_an_edit_stores_the_phone_in_e164_and_refuses_what_is_no_number(
    services: Services, shop: Shop
) -> None:
    order_id = await shop.order()
    order = await services.orders.get(order_id)
    edited = await services.orders.edit(
        KARIM, order_id, OrderEdit(phone="0661-234567"), order.version
    )
    assert edited.phone == "+212661234567"  # written as the agent reads it out, Morocco's
    with pytest.raises(BadInput, match="'12' is not a valid phone number"):
        await services.orders.edit(KARIM, order_id, OrderEdit(phone="12"), edited.version)
    assert (await services.orders.get(order_id)).phone == "+212661234567"


# --- carrier events that come late (issue 12) ---------------------------------------------------


async def test_a_carrier_event_older_than_a_newer_one_that_changed_nothing_changes_nothing(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    order_id = await confirmed_order(services, shop)
    at_1030 = clock().replace(hour=10, minute=30)
    await services.status.apply_batch(
        SANDBOX, [Move(order_id, SHIP, S.SHIPPED, carrier_event_id="e-1", at=at_1030)]
    )
    version = (await services.orders.get(order_id)).version

    # Out for delivery at 10:40: already shipped, so nothing moves, and nothing is written...
    (same,) = await services.status.apply_batch(
        SANDBOX,
        [
            Move(
                order_id,
                SHIP,
                S.SHIPPED,
                carrier_event_id="e-3",
                at=at_1030 + timedelta(minutes=10),
            )
        ],
    )
    assert same.duplicate and not same.applied
    order = await services.orders.get(order_id)
    assert order.version == version  # ...that would make an operator's screen stale
    row = await services.db.fetchone(
        "SELECT last_carrier_event_at FROM orders WHERE id = ?", (order_id,)
    )
    assert row is not None and row[0] == "2026-11-28T10:40:00Z"

    # ...but a failed delivery dated 10:20, reported after it, is history: it moves nothing.
    (late,) = await services.status.apply_batch(
        SANDBOX,
        [
            Move(
                order_id,
                SHIP,
                S.PACKAGE_ISSUE,
                carrier_event_id="e-2",
                at=at_1030 - timedelta(minutes=10),
            )
        ],
    )
    assert not late.applied
    order = await services.orders.get(order_id)
    assert (order.shipping, order.version) == (S.SHIPPED, version)
    last = (await events(services, order_id))[-1]
    assert (last["carrier_event_id"], last["to_status"], last["ignored"]) == (
        "e-2",
        "package_issue",
        1,
    )


async def test_within_one_carrier_batch_a_newer_no_op_makes_an_older_event_history(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    order_id = await confirmed_order(services, shop)
    t = clock()
    await services.status.apply(
        SANDBOX, Move(order_id, SHIP, S.SHIPPED, carrier_event_id="e-1", at=t)
    )
    results = await services.status.apply_batch(
        SANDBOX,
        [
            Move(order_id, SHIP, S.SHIPPED, carrier_event_id="e-3", at=t + timedelta(hours=2)),
            Move(order_id, SHIP, S.DELIVERED, carrier_event_id="e-2", at=t + timedelta(hours=1)),
        ],
    )
    assert [r.applied for r in results] == [False, False]
    assert (await services.orders.get(order_id)).shipping is S.SHIPPED


async def test_a_refused_carrier_move_makes_older_events_history(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    order_id = await confirmed_order(services, shop)
    t = clock()
    await services.status.apply(
        SANDBOX, Move(order_id, SHIP, S.CANCELED, carrier_event_id="e-1", at=t)
    )
    version = (await services.orders.get(order_id)).version
    (refused,) = await services.status.apply_batch(  # the table refuses canceled -> shipped
        SANDBOX,
        [Move(order_id, SHIP, S.SHIPPED, carrier_event_id="e-3", at=t + timedelta(hours=2))],
    )
    assert not refused.applied and not refused.duplicate
    # canceled -> in_return is a carrier's move, but this one is dated before e-3.
    (older,) = await services.status.apply_batch(
        SANDBOX,
        [Move(order_id, SHIP, S.IN_RETURN, carrier_event_id="e-2", at=t + timedelta(hours=1))],
    )
    assert not older.applied
    order = await services.orders.get(order_id)
    assert (order.shipping, order.version) == (S.CANCELED, version)
    assert [(e["carrier_event_id"], e["ignored"]) for e in await events(services, order_id)][
        -2:
    ] == [("e-3", 1), ("e-2", 1)]
