"""The happy path: confirmed orders reach the sandbox carrier and their journeys come back."""

from __future__ import annotations

import time

from conftest import FrozenClock, Shop, wait_until

from codspot_tui.domain.statuses import Shipping
from codspot_tui.services.bundle import Services

from .conftest import (
    SandboxServer,
    assert_invariants,
    confirm,
    expected_journey,
    make_due,
    order_row,
)

FINAL_OR_SLOW = {Shipping.DELIVERED, Shipping.IN_RETURN, Shipping.CANCELED}


async def _on_hand(services: Services) -> dict[str, int]:
    rows = await services.db.fetchall("SELECT sku, on_hand FROM products ORDER BY sku")
    return {row["sku"]: row["on_hand"] for row in rows}


async def test_journeys_come_back_by_themselves_and_only_move_forward(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    parcels = [await shop.order(items=(("ARGAN", 1), ("SAVON", 2))) for _ in range(40)]
    local = [await shop.order(delivery="local") for _ in range(3)]
    unconfirmed = [await shop.order() for _ in range(3)]
    await confirm(services, *parcels, *local)
    stock_before = await _on_hand(services)
    worker = sandbox.worker(services)
    try:
        await worker.run_once()
        rows = {order_id: await order_row(services, order_id) for order_id in parcels}
        assert {(r["sync"], r["shipping"]) for r in rows.values()} == {("synced", "created")}
        trackings = {order_id: row["tracking"] for order_id, row in rows.items()}
        assert len(set(trackings.values())) == len(parcels)
        assert set(sandbox.sim.parcels) == set(trackings.values())
        sent = set(sandbox.sim.by_reference)
        assert sent == {f"test:{r['ref']}" for r in rows.values()}
        for order_id in local + unconfirmed:  # never sent to the carrier
            row = await order_row(services, order_id)
            assert f"test:{row['ref']}" not in sent and row["tracking"] is None

        seen: dict[int, list[str]] = {order_id: ["created"] for order_id in parcels}
        for _ in range(30):  # 30 polls, 4 simulated hours apart: every journey ends
            sandbox.advance(hours=4)
            make_due(clock)
            await worker.run_once()
            for order_id, tracking in trackings.items():
                row = await order_row(services, order_id)
                expected, _ = expected_journey(sandbox.sim, tracking, sandbox.clock.now)
                assert row["shipping"] == expected, (row["ref"], seen[order_id])
                if seen[order_id][-1] != row["shipping"]:
                    seen[order_id].append(row["shipping"])
    finally:
        await worker.close()

    # Everything arrived, each applied carrier event once, in order, nothing else.
    for order_id, tracking in trackings.items():
        status, applied_ids = expected_journey(sandbox.sim, tracking, sandbox.clock.now)
        assert status in FINAL_OR_SLOW
        events = await services.db.fetchall(
            """SELECT carrier_event_id, raw_status, actor FROM status_events
               WHERE order_id = ? AND source = 'carrier' AND ignored = 0 ORDER BY id""",
            (order_id,),
        )
        assert [e["carrier_event_id"] for e in events] == applied_ids
        assert {e["actor"] for e in events} == {"carrier:sandbox"}
        assert all(e["raw_status"] for e in events)
    journeys = {tuple(s) for s in seen.values()}
    assert len(journeys) >= 3, journeys  # delivered, returned, cancelled paths all showed up
    assert any("package_issue" in j for j in journeys)
    for order_id in local + unconfirmed:
        events = await services.db.fetchall(
            "SELECT 1 FROM status_events WHERE order_id = ? AND source = 'carrier'", (order_id,)
        )
        assert events == []
    assert await _on_hand(services) == stock_before
    await assert_invariants(services)


async def test_journeys_in_wall_time_at_high_speed(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    """As in production: the sandbox's journeys run on wall time times its speed."""
    sandbox.use_real_time(speed=1_500_000)  # the longest journey (~90 h) lasts ~0.25 s
    parcels = [await shop.order() for _ in range(20)]
    await confirm(services, *parcels)
    worker = sandbox.worker(services)
    try:
        await worker.run_once()
        sim = sandbox.sim

        def journeys_over() -> bool:
            return all(
                parcel.created + parcel.steps[-1].after / sim.speed <= time.time()
                for parcel in sim.parcels.values()
            )

        assert len(sim.parcels) == len(parcels)
        await wait_until(journeys_over, "every sandbox journey to reach its last step")
        for _ in range(2):
            make_due(clock)
            await worker.run_once()
    finally:
        await worker.close()
    for order_id in parcels:
        row = await order_row(services, order_id)
        expected, _ = expected_journey(sandbox.sim, row["tracking"], time.time())
        assert row["shipping"] == expected
        assert row["shipping"] in FINAL_OR_SLOW
    await assert_invariants(services)
