"""The circuit breaker: a carrier that keeps failing is left alone for a while, then tried."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from conftest import FrozenClock, Shop

from codspot_tui.carriers import worker as worker_module
from codspot_tui.services.bundle import Services

from .conftest import (
    SandboxServer,
    assert_invariants,
    confirm,
    created_parcels,
    health_of,
    make_due,
    order_row,
    outbox_row,
)


@pytest.fixture
def breaker_time(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The breaker's monotonic clock, moved by the test instead of waited for."""
    fake = SimpleNamespace(now=1000.0)
    fake.monotonic = lambda: fake.now
    monkeypatch.setattr(worker_module, "time", fake)
    return fake


async def test_a_failing_carrier_is_left_alone_then_tried_again(
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    breaker_time: SimpleNamespace,
) -> None:
    worker = sandbox.worker(services)
    try:
        parcels = await created_parcels(services, shop, worker, 3)
        sandbox.advance(hours=6)
        await sandbox.fault("500", count=1000)
        calls = []
        for _ in range(6):  # three failures in a row, then the carrier is left alone
            make_due(clock)
            before = sandbox.requests
            await worker.run_once()
            calls.append(sandbox.requests - before)
        assert calls == [1, 1, 1, 0, 0, 0]
        health = await health_of(services)
        assert "HTTP 500" in health.last_error and health.consecutive_failures == 3

        breaker_time.now += 4.9  # first pause: 5 s
        make_due(clock)
        await worker.run_once()
        assert sandbox.requests == before
        breaker_time.now += 0.2
        await worker.run_once()
        assert sandbox.requests == before + 1  # tried again, failed again: pause doubles
        breaker_time.now += 9.9
        await worker.run_once()
        assert sandbox.requests == before + 1
        breaker_time.now += 0.2
        await worker.run_once()
        assert sandbox.requests == before + 2

        sandbox.sim.faults.clear()  # the carrier is back
        breaker_time.now += 20.1
        await worker.run_once()
        assert sandbox.requests == before + 3
        make_due(clock)
        await worker.run_once()  # closed again: polls at the normal pace
        assert sandbox.requests == before + 4
    finally:
        await worker.close()
    health = await health_of(services)
    assert health.consecutive_failures == 0 and health.last_success_at == clock()
    for order_id in parcels:
        assert (await order_row(services, order_id))["shipping"] == "shipped"
    await assert_invariants(services)


async def test_parcel_creation_stops_while_the_carrier_is_down(
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    breaker_time: SimpleNamespace,
) -> None:
    order_ids = [await shop.order() for _ in range(6)]
    await confirm(services, *order_ids)
    await sandbox.fault("503", count=3)
    worker = sandbox.worker(services)
    try:
        await worker.run_once()
        assert sandbox.requests == 3
        attempts = [(await outbox_row(services, o))["attempts"] for o in order_ids]
        assert attempts == [1, 1, 1, 0, 0, 0]  # the last three were not even tried
        clock.advance(seconds=60)
        await worker.run_once()
        assert sandbox.requests == 3
        breaker_time.now += 5.1
        await worker.run_once()
    finally:
        await worker.close()
    for order_id in order_ids:
        assert (await order_row(services, order_id))["sync"] == "synced"
    assert len(sandbox.sim.parcels) == 6
    await assert_invariants(services)


async def test_health_shows_the_carrier_paused(
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    breaker_time: SimpleNamespace,
) -> None:
    worker = sandbox.worker(services)
    try:
        await created_parcels(services, shop, worker, 1)
        await sandbox.fault("500", count=3)
        for _ in range(3):
            make_due(clock)
            await worker.run_once()
    finally:
        await worker.close()
    health = await health_of(services)
    assert health.paused_until is not None and health.paused_until > clock()
