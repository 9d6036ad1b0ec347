"""Everything a real carrier does wrong, against the loopback sandbox with injected faults.

After each: the worker keeps going, no status moved backwards or out of a final state, no
carrier event applied twice, stock untouched, and the failure is visible in the health.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from conftest import FrozenClock, Shop, wait_until, write_lock_held

from codspot_tui.carriers import http as http_module
from codspot_tui.carriers import worker as worker_module
from codspot_tui.carriers.vocabulary import SANDBOX
from codspot_tui.domain.errors import DatabaseError
from codspot_tui.domain.statuses import Shipping
from codspot_tui.services.bundle import Services
from codspot_tui.services.parcels import RETRY_BASE, RETRY_CEILING, SLOW_FACTOR

from .conftest import (
    POLL_INTERVAL,
    TOKEN,
    SandboxServer,
    assert_invariants,
    confirm,
    created_parcels,
    health_of,
    iso,
    make_due,
    order_row,
    outbox_row,
    shipping_events,
)

# Parcel creation ----------------------------------------------------------------------------


async def test_wrong_token_is_visible_moves_nothing_and_loses_nothing(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    order_ids = [await shop.order() for _ in range(3)]
    await confirm(services, *order_ids)
    worker = sandbox.worker(services, credentials={"token": "not-the-token"})
    try:
        await worker.run_once()
    finally:
        await worker.close()
    assert sandbox.sim.parcels == {}
    health = await health_of(services)
    assert "HTTP 401" in health.last_error and "not-the-token" not in health.last_error
    assert health.last_success_at is None
    for order_id in order_ids:
        row = await order_row(services, order_id)
        assert (row["shipping"], row["tracking"]) == ("created", None)
        job = await outbox_row(services, order_id)
        assert job["done_at"] is None  # kept: never lost
    await assert_invariants(services)

    # Someone fixes the token: every parcel is created, once.
    clock.advance(seconds=int(RETRY_CEILING.total_seconds() * 1.6))
    worker = sandbox.worker(services)
    try:
        await worker.run_once()
    finally:
        await worker.close()
    for order_id in order_ids:
        assert (await order_row(services, order_id))["sync"] == "synced"
    assert len(sandbox.sim.parcels) == 3
    await assert_invariants(services)


async def test_wrong_token_while_polling_moves_nothing_and_is_visible(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 2)
    finally:
        await worker.close()
    sandbox.advance(hours=12)
    worker = sandbox.worker(services, credentials={"token": "expired-token"})
    try:
        for _ in range(2):
            make_due(clock)
            await worker.run_once()
    finally:
        await worker.close()
    health = await health_of(services)
    assert "HTTP 401" in health.last_error and "expired-token" not in health.last_error
    for order_id in parcels:
        row = await order_row(services, order_id)
        assert (row["shipping"], row["sync"]) == ("created", "synced")
        assert await shipping_events(services, order_id) == []
    await assert_invariants(services)


async def test_wrong_token_leaves_every_parcel_pending(
    services: Services, shop: Shop, sandbox: SandboxServer
) -> None:
    order_ids = [await shop.order() for _ in range(5)]
    await confirm(services, *order_ids)
    worker = sandbox.worker(services, credentials={"token": "not-the-token"})
    try:
        await worker.run_once()
    finally:
        await worker.close()
    syncs = [(await order_row(services, order_id))["sync"] for order_id in order_ids]
    assert syncs == ["pending"] * 5
    health = await health_of(services)
    assert (health.pending_sync, health.failed_sync) == (5, 0)


async def test_invalid_parcel_fails_without_retry_visibly_and_is_kept(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    bad, good = await shop.order(), await shop.order()
    await services.db.conn.execute("UPDATE orders SET address = '  ' WHERE id = ?", (bad,))
    await confirm(services, bad, good)
    worker = sandbox.worker(services)
    try:
        await worker.run_once()
        row, job = await order_row(services, bad), await outbox_row(services, bad)
        assert (row["sync"], row["tracking"], row["shipping"]) == ("failed", None, "created")
        assert "HTTP 400" in job["last_error"] and "address" in job["last_error"]
        assert job["attempts"] == 1 and job["done_at"] is None
        assert (await order_row(services, good))["sync"] == "synced"  # one bad parcel blocks none
        health = await health_of(services)
        assert health.failed_sync == 1 and "address" in health.last_error

        # Not retried at the fast pace: the data must change first.
        before = sandbox.requests
        clock.advance(seconds=RETRY_BASE.total_seconds() * 4)
        await worker.drain_outbox(asyncio.Event())
        assert sandbox.requests == before

        # The operator fixes the address; the kept job goes through on its slow retry.
        await services.db.conn.execute(
            "UPDATE orders SET address = '3 rue Tarik' WHERE id = ?", (bad,)
        )
        clock.advance(seconds=int(RETRY_CEILING.total_seconds() * 1.6))
        await worker.run_once()
    finally:
        await worker.close()
    row = await order_row(services, bad)
    assert row["sync"] == "synced" and row["tracking"] in sandbox.sim.parcels
    assert (await health_of(services)).failed_sync == 0
    await assert_invariants(services)


async def test_server_errors_retry_with_backoff_until_synced(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    order_id = await shop.order()
    await confirm(services, order_id)
    await sandbox.fault("500")
    await sandbox.fault("503")
    worker = sandbox.worker(services)
    try:
        for attempt, code in ((1, "500"), (2, "503")):
            started = clock()
            await worker.run_once()
            job = await outbox_row(services, order_id)
            assert job["attempts"] == attempt and f"HTTP {code}" in job["last_error"]
            delay = RETRY_BASE * 2 ** (attempt - 1)
            retry_at = job["next_attempt_at"]
            assert iso(started + delay * 0.5) <= retry_at <= iso(started + delay * 1.5)
            assert (await order_row(services, order_id))["sync"] == "pending"
            assert f"HTTP {code}" in (await health_of(services)).last_error
            # Not due yet: the carrier is left alone.
            before = sandbox.requests
            await worker.run_once()
            assert sandbox.requests == before
            clock.advance(seconds=int(delay.total_seconds() * 1.5) + 1)
        await worker.run_once()
    finally:
        await worker.close()
    row, job = await order_row(services, order_id), await outbox_row(services, order_id)
    assert row["sync"] == "synced" and len(sandbox.sim.parcels) == 1
    assert job["attempts"] == 3 and job["last_error"] is None and job["done_at"] is not None
    assert (await health_of(services)).last_success_at == clock()
    await assert_invariants(services)


async def test_a_lost_answer_never_makes_a_second_parcel(
    services: Services, shop: Shop, sandbox: SandboxServer
) -> None:
    """The carrier created the parcel but its answer never came back: the retry finds it."""
    order_id = await shop.order()
    await confirm(services, order_id)
    ref = (await order_row(services, order_id))["ref"]
    first = await sandbox.control.post(
        "/v1/parcels",
        json={
            "reference": f"test:{ref}",
            "customer": "Karima",
            "phone": "+212600000000",
            "city": "Casablanca",
            "address": "12 rue Ibn Battouta",
            "cod_amount": 100,
            "items": [{"sku": "ARGAN", "qty": 1}],
        },
    )
    assert first.status_code == 201
    worker = sandbox.worker(services)
    try:
        await worker.run_once()
        await worker.run_once()
    finally:
        await worker.close()
    assert (await order_row(services, order_id))["tracking"] == first.json()["tracking"]
    assert len(sandbox.sim.parcels) == 1


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("500", "HTTP 500"),
        ("503", "HTTP 503"),
        ("hang", "timed out"),
        ("drop", "failed: "),
        ("not_json", "not JSON"),
        ("bad_shape", "without a tracking number"),
    ],
)
async def test_a_failed_creation_is_retried_and_never_duplicated(
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    fault: str,
    said: str,
) -> None:
    order_id = await shop.order()
    await confirm(services, order_id)
    await sandbox.fault(fault)
    worker = sandbox.worker(services, timeout=0.5)
    try:
        started = time.monotonic()
        await worker.run_once()
        assert time.monotonic() - started < 2.0
        row, job = await order_row(services, order_id), await outbox_row(services, order_id)
        assert (row["sync"], row["tracking"]) == ("pending", None)
        assert said in job["last_error"] and said in (await health_of(services)).last_error
        clock.advance(seconds=int(RETRY_BASE.total_seconds() * 1.6))
        await worker.run_once()
    finally:
        await worker.close()
    row = await order_row(services, order_id)
    assert row["sync"] == "synced" and list(sandbox.sim.parcels) == [row["tracking"]]
    await assert_invariants(services)


@pytest.fixture
def carrier_time(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The monotonic clock that times Retry-After (the worker's breaker and the adapters' rate
    limiter), moved by the test: a wait is a step of this clock, never a sleep."""
    fake = SimpleNamespace(now=1000.0)
    fake.monotonic = lambda: fake.now
    monkeypatch.setattr(worker_module, "time", fake)
    monkeypatch.setattr(http_module, "time", fake)
    return fake


async def test_rate_limited_creation_waits_for_retry_after(
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    carrier_time: SimpleNamespace,
) -> None:
    order_ids = [await shop.order() for _ in range(3)]
    await confirm(services, *order_ids)
    await sandbox.fault("429", retry_after=1)
    worker = sandbox.worker(services)
    try:
        await worker.run_once()
        assert sandbox.requests == 1  # the 429, then nobody calls until Retry-After
        assert "rate limited" in (await health_of(services)).last_error
        clock.advance(seconds=int(RETRY_BASE.total_seconds() * 1.6))
        carrier_time.now += 0.95
        await worker.run_once()
        assert sandbox.requests == 1
        carrier_time.now += 0.1  # the second is over
        await worker.run_once()
    finally:
        await worker.close()
    for order_id in order_ids:  # no error state left on the order
        row, job = await order_row(services, order_id), await outbox_row(services, order_id)
        assert row["sync"] == "synced" and job["last_error"] is None
    assert len(sandbox.sim.parcels) == 3
    await assert_invariants(services)


# Polling ------------------------------------------------------------------------------------


async def test_rate_limited_polling_waits_for_retry_after(
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    carrier_time: SimpleNamespace,
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 3)
        sandbox.advance(hours=6)  # picked up by now
        await sandbox.fault("429", retry_after=1)
        make_due(clock)
        before = sandbox.requests
        await worker.run_once()
        assert sandbox.requests == before + 1
        assert "rate limited" in (await health_of(services)).last_error
        for _ in range(3):  # due, but the carrier said wait: not one call
            make_due(clock)
            carrier_time.now += 0.3
            await worker.run_once()
        assert sandbox.requests == before + 1
        carrier_time.now += 0.15  # the second is over
        await worker.run_once()
        assert sandbox.requests == before + 2
    finally:
        await worker.close()
    for order_id in parcels:
        row = await order_row(services, order_id)
        assert row["shipping"] == "shipped" and row["sync"] == "synced"
        assert not any(e["ignored"] for e in await shipping_events(services, order_id))
    await assert_invariants(services)


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("500", "HTTP 500"),
        ("503", "HTTP 503"),
        ("hang", "timed out"),
        ("drop", "failed: "),
        ("not_json", "not JSON"),
        ("bad_shape", "unknown shape"),
    ],
)
async def test_a_broken_poll_changes_nothing_and_the_next_one_recovers(
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    fault: str,
    said: str,
) -> None:
    worker = sandbox.worker(services, timeout=0.5)
    try:
        parcels = await created_parcels(services, shop, worker, 4)
        sandbox.advance(hours=6)
        await sandbox.fault(fault)
        make_due(clock)
        started = time.monotonic()
        await worker.run_once()
        assert time.monotonic() - started < 2.0  # a hanging carrier is cut off
        health = await health_of(services)
        assert said in health.last_error and health.consecutive_failures == 1
        for order_id in parcels:
            assert (await order_row(services, order_id))["shipping"] == "created"
            assert await shipping_events(services, order_id) == []
        make_due(clock)
        await worker.run_once()  # the worker keeps going
    finally:
        await worker.close()
    for order_id in parcels:
        assert (await order_row(services, order_id))["shipping"] == "shipped"
    health = await health_of(services)
    assert health.consecutive_failures == 0 and health.last_success_at == clock()
    await assert_invariants(services)


async def test_a_database_too_busy_to_write_loses_nothing_and_the_worker_goes_on(
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The worker's own database, waiting 0.1 s for a lock (busy_timeout_ms, from settings).
    impatient = replace(services.settings, busy_timeout_ms=100)
    worker_services = await Services.open(services.db.path, impatient, clock=clock)
    worker = sandbox.worker(worker_services)
    worker.tick = 0.05
    stop = asyncio.Event()
    try:
        parcels = await created_parcels(worker_services, shop, worker, 4)
        sandbox.advance(hours=6)
        make_due(clock)
        with write_lock_held(services.db.path):  # a long import, say, holds the write lock
            # One poll: the failed write is raised, not swallowed, and nothing hangs.
            with pytest.raises(DatabaseError, match="the database is busy"):
                await asyncio.wait_for(worker.poll("sandbox", asyncio.Event()), 10)
            for order_id in parcels:
                assert (await order_row(services, order_id))["shipping"] == "created"
            # The running worker says so in its log, and goes round again.
            running = asyncio.create_task(worker.run(stop))
            await wait_until(
                lambda: "round cut short: the database is busy" in caplog.text,
                "the worker to log the round the lock cut short",
            )
            assert not running.done()

        async def all_shipped() -> bool:
            rows = [await order_row(services, order_id) for order_id in parcels]
            return all(row["shipping"] == "shipped" for row in rows)

        # The lock is gone: the parcels were still due, and the next round writes them.
        await wait_until(all_shipped, "the parcels to be written once the lock was released")
        stop.set()
        await asyncio.wait_for(running, 10)
    finally:
        stop.set()
        await worker.close()
        await worker_services.close()
    await assert_invariants(services)


async def test_unknown_tracking_number_is_reported_and_asked_again_later(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 2)
        lost, kept = parcels
        await services.db.conn.execute(
            "UPDATE orders SET tracking = 'SBX-LOST-1' WHERE id = ?", (lost,)
        )
        sandbox.advance(hours=6)
        make_due(clock)
        await worker.run_once()
        health = await health_of(services)
        assert "does not know 1 tracking number" in health.last_error
        assert "SBX-LOST-1" in health.last_error
        row = await order_row(services, lost)
        assert row["shipping"] == "created" and row["next_poll_at"] is not None
        assert (await order_row(services, kept))["shipping"] == "shipped"

        # Asked again, at the slow pace: not with the parcels in motion.
        first_ask = row["next_poll_at"]
        assert first_ask == iso(clock() + timedelta(seconds=POLL_INTERVAL * SLOW_FACTOR))
        clock.advance(seconds=POLL_INTERVAL * 2)
        due = await services.parcels.due_parcels("sandbox", 50)
        assert [p.order_id for p in due] == [kept]
        make_due(clock)
        await worker.run_once()
        assert (await order_row(services, lost))["next_poll_at"] > first_ask
    finally:
        await worker.close()
    await assert_invariants(services)


async def test_unknown_raw_status_is_stored_and_surfaced_never_guessed(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 1)
        (order_id,) = parcels
        for _ in range(2):  # the same event twice in the unknown word: one timeline entry
            await sandbox.fault("unknown_status")
            make_due(clock)
            await worker.run_once()
        row = await order_row(services, order_id)
        assert row["shipping"] == "created"
        events = await shipping_events(services, order_id)
        assert len(events) == 1
        (event,) = events
        assert event["ignored"] == 1 and event["raw_status"] == "teleported"
        assert (event["from_status"], event["to_status"]) == ("created", "created")
        assert "teleported" in event["note"]
        health = await health_of(services)
        assert health.unmapped == ("teleported",)
        seen = await services.db.fetchall("SELECT carrier, raw_status, seen FROM carrier_unmapped")
        assert [tuple(r) for r in seen] == [("sandbox", "teleported", 2)]

        sandbox.advance(hours=6)  # the journey goes on in words we know
        make_due(clock)
        await worker.run_once()
    finally:
        await worker.close()
    assert (await order_row(services, order_id))["shipping"] == "shipped"
    await assert_invariants(services)


async def test_duplicate_event_is_applied_once(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 1)
        ((order_id, tracking),) = parcels.items()
        now = sandbox.clock.now
        for _ in range(2):  # twice in the same answer
            await sandbox.add_event(tracking, "dup-1", "delivery_failed", iso(now + 3600))
        await sandbox.add_event(tracking, "e-2", "out_for_delivery", iso(now + 7200))
        # The same event again, stamped later: were it applied, the parcel would go back
        # to package_issue.
        await sandbox.add_event(tracking, "dup-1", "delivery_failed", iso(now + 9000))
        make_due(clock)
        await worker.run_once()
        await sandbox.add_event(tracking, "dup-1", "delivery_failed", iso(now + 10800))
        for _ in range(2):  # and on later polls
            make_due(clock)
            await worker.run_once()
    finally:
        await worker.close()
    assert (await order_row(services, order_id))["shipping"] == "shipped"
    events = await shipping_events(services, order_id)
    assert [(e["carrier_event_id"], e["to_status"], e["ignored"]) for e in events] == [
        ("dup-1", "package_issue", 0),
        ("e-2", "shipped", 0),
    ]
    await assert_invariants(services)


async def test_out_of_order_event_changes_nothing(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 1)
        ((order_id, tracking),) = parcels.items()
        now = sandbox.clock.now
        await sandbox.add_event(tracking, "e-2", "delivery_failed", iso(now + 7200))
        make_due(clock)
        await worker.run_once()
        assert (await order_row(services, order_id))["shipping"] == "package_issue"
        # Older than what we applied: a move the table would allow, and one it would not.
        await sandbox.add_event(tracking, "e-1", "in_transit", iso(now + 3600))
        await sandbox.add_event(tracking, "e-0", "delivered", iso(now + 1800))
        for _ in range(2):
            make_due(clock)
            await worker.run_once()
    finally:
        await worker.close()
    row = await order_row(services, order_id)
    assert row["shipping"] == "package_issue"
    applied = [e for e in await shipping_events(services, order_id) if not e["ignored"]]
    assert [e["carrier_event_id"] for e in applied] == ["e-2"]
    await assert_invariants(services)


async def test_a_new_event_in_the_same_second_as_the_last_one_applies(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 1)
        ((order_id, tracking),) = parcels.items()
        at = iso(sandbox.clock.now + 3600)
        await sandbox.add_event(tracking, "e-1", "out_for_delivery", at)
        make_due(clock)
        await worker.run_once()
        assert (await order_row(services, order_id))["shipping"] == "shipped"
        await sandbox.add_event(tracking, "e-2", "delivered", at)
        make_due(clock)
        await worker.run_once()
    finally:
        await worker.close()
    assert (await order_row(services, order_id))["shipping"] == "delivered"


async def test_nothing_leaves_a_final_state(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 1)
        ((order_id, tracking),) = parcels.items()
        now = sandbox.clock.now
        await sandbox.add_event(tracking, "e-1", "delivered", iso(now + 3600))
        make_due(clock)
        await worker.run_once()
        assert (await order_row(services, order_id))["next_poll_at"] is None  # final
        await sandbox.add_event(tracking, "e-2", "returning", iso(now + 7200))
        asked = sandbox.requests
        for _ in range(2):
            make_due(clock)
            await worker.run_once()
        assert sandbox.requests == asked  # a final parcel is not polled any more
    finally:
        await worker.close()
    assert (await order_row(services, order_id))["shipping"] == Shipping.DELIVERED
    await assert_invariants(services)


async def test_each_parcel_is_polled_again_at_the_pace_of_its_state(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 2)
        (moving, tracking_moving), (returning, tracking_returning) = parcels.items()
        at = iso(sandbox.clock.now + 3600)
        await sandbox.add_event(tracking_moving, "e-1", "in_transit", at)
        await sandbox.add_event(tracking_returning, "e-1", "refused", at)
        make_due(clock)
        await worker.run_once()
    finally:
        await worker.close()

    async def wait_after_poll(order_id: int) -> float:
        row = await order_row(services, order_id)
        when = datetime.fromisoformat(row["next_poll_at"])
        return (when - clock()).total_seconds()

    assert (await order_row(services, returning))["shipping"] == Shipping.IN_RETURN
    # In motion: the carrier's interval; a slow state: several times it (jitter 10%).
    assert POLL_INTERVAL * 0.9 - 1 <= await wait_after_poll(moving) <= POLL_INTERVAL * 1.1 + 1
    slow = POLL_INTERVAL * SLOW_FACTOR
    assert slow * 0.9 - 1 <= await wait_after_poll(returning) <= slow * 1.1 + 1


async def test_a_move_the_rules_refuse_is_recorded_as_ignored(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 1)
        ((order_id, tracking),) = parcels.items()
        now = sandbox.clock.now
        await sandbox.add_event(tracking, "e-1", "refused", iso(now + 3600))
        await sandbox.add_event(tracking, "e-2", "out_for_delivery", iso(now + 7200))
        make_due(clock)
        await worker.run_once()
        make_due(clock)
        await worker.run_once()
    finally:
        await worker.close()
    assert (await order_row(services, order_id))["shipping"] == "in_return"
    events = await shipping_events(services, order_id)
    assert [(e["carrier_event_id"], e["to_status"], e["ignored"]) for e in events] == [
        ("e-1", "in_return", 0),
        ("e-2", "shipped", 1),
    ]
    assert events[1]["from_status"] == "in_return" and events[1]["raw_status"] == "out_for_delivery"
    await assert_invariants(services)


async def test_the_token_never_reaches_the_database(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services, timeout=0.5)
    try:
        await created_parcels(services, shop, worker, 2)
        for fault in ("500", "drop", "not_json", "bad_shape", "unknown_status"):
            await sandbox.fault(fault)
            make_due(clock)
            await worker.run_once()
    finally:
        await worker.close()
    await services.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    assert TOKEN.encode() not in services.db.path.read_bytes()
    await assert_invariants(services)


async def test_an_unknown_status_fault_hides_nothing_once_it_clears(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 1)
        ((order_id, tracking),) = parcels.items()
        steps = sandbox.sim.parcels[tracking].steps
        sandbox.advance(hours=(steps[1].after + 1) / 3600)  # its first step, nothing more yet
        await sandbox.fault("unknown_status")
        make_due(clock)
        await worker.run_once()
        assert (await order_row(services, order_id))["shipping"] == "created"
        make_due(clock)
        await worker.run_once()
    finally:
        await worker.close()
    assert (await order_row(services, order_id))["shipping"] == SANDBOX.meaning(steps[1].status)
