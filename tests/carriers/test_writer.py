"""The carrier writer process: what `codspot worker` writes carrier news through.

It must write exactly what the worker's own thread would, on the worker's clock; pass the
services' errors back as they are; and never leave a group half-answered when it dies.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import pickle
import struct
import subprocess
import sys
import termios
from collections.abc import AsyncIterator, Coroutine
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from conftest import FrozenClock, Shop, wait_until, write_lock_held

from codspot_tui.carriers.writer import WriterProcess, _read, _write
from codspot_tui.domain.errors import DatabaseError
from codspot_tui.domain.statuses import Shipping
from codspot_tui.domain.times import from_stored
from codspot_tui.services.bundle import Services
from codspot_tui.services.parcels import BatchSummary, CarrierNews

from .conftest import (
    POLL_INTERVAL,
    SandboxServer,
    assert_invariants,
    created_parcels,
    expected_journey,
    health_of,
    make_due,
    order_row,
)


@pytest.fixture
async def writer(services: Services) -> AsyncIterator[WriterProcess]:
    process = WriterProcess(services.db.path, services.settings)
    yield process
    await process.aclose()


async def test_journeys_come_back_through_the_writer_on_the_workers_clock(
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    writer: WriterProcess,
) -> None:
    worker = sandbox.worker(services, writer)
    try:
        parcels = await created_parcels(services, shop, worker, 12)
        for _ in range(12):  # 12 polls, 4 simulated hours apart: most journeys end
            sandbox.advance(hours=4)
            make_due(clock)
            await worker.run_once()
            for order_id, tracking in parcels.items():
                row = await order_row(services, order_id)
                expected, _ = expected_journey(sandbox.sim, tracking, sandbox.clock.now)
                assert row["shipping"] == expected, row["ref"]
                if row["next_poll_at"] is not None:
                    # Scheduled from the worker's (frozen) clock, not the writer's own.
                    wait = from_stored(row["next_poll_at"]) - clock.now
                    assert timedelta(seconds=0.9 * POLL_INTERVAL) <= wait, row
                    assert wait <= timedelta(seconds=1.1 * POLL_INTERVAL * 6), row
    finally:
        await worker.close()
    for order_id, tracking in parcels.items():
        _, applied_ids = expected_journey(sandbox.sim, tracking, sandbox.clock.now)
        events = await services.db.fetchall(
            """SELECT carrier_event_id FROM status_events
               WHERE order_id = ? AND source = 'carrier' AND ignored = 0 ORDER BY id""",
            (order_id,),
        )
        assert [e["carrier_event_id"] for e in events] == applied_ids
    assert (await health_of(services)).last_success_at == clock.now
    await assert_invariants(services)


def _picked_up(
    writer: WriterProcess, order_id: int, clock: FrozenClock
) -> Coroutine[Any, Any, BatchSummary]:
    """One group of one piece of news: the carrier picked the parcel up."""
    news = CarrierNews(order_id, "e1", "picked_up", clock.now, Shipping.SHIPPED, True, "")
    return writer.apply_news("sandbox", [], [news], [], now=clock.now)


@pytest.fixture
async def parcel(services: Services, shop: Shop, sandbox: SandboxServer) -> int:
    """A confirmed sandbox order whose parcel exists at the carrier: its order id."""
    worker = sandbox.worker(services)
    try:
        (order_id,) = await created_parcels(services, shop, worker, 1)
    finally:
        await worker.close()
    return order_id


def _unread(process: asyncio.subprocess.Process) -> int:
    """Bytes in the pipe to the writer that it has not read yet."""
    assert process.stdin is not None
    pipe = process.stdin.transport.get_extra_info("pipe")
    return int.from_bytes(fcntl.ioctl(pipe.fileno(), termios.FIONREAD, bytes(4)), sys.byteorder)


async def _taken_by_the_writer(writer: WriterProcess, process: asyncio.subprocess.Process) -> None:
    """Until the group in hand is sent and the writer has read all of it: it is then applying
    the group (waiting for the write lock), and its answer is still to come."""
    assert process.stdin is not None
    stdin = process.stdin

    def taken() -> bool:
        sending = writer._lock.locked()  # held from before the group is written until answered
        return sending and stdin.transport.get_write_buffer_size() == 0 and _unread(process) == 0

    await wait_until(taken, "the writer to read the group it was sent")


async def _running(writer: WriterProcess) -> asyncio.subprocess.Process:
    await writer.start()
    assert writer._process is not None
    return writer._process


async def test_a_busy_database_reaches_the_worker_as_it_is_and_the_writer_goes_on(
    services: Services, clock: FrozenClock, parcel: int
) -> None:
    order_id = parcel
    quick = WriterProcess(services.db.path, replace(services.settings, busy_timeout_ms=100))
    try:
        await quick.start()
        started = quick.pid
        with (
            write_lock_held(services.db.path),
            pytest.raises(DatabaseError, match="the database is busy"),
        ):
            await _picked_up(quick, order_id, clock)
        assert (await order_row(services, order_id))["shipping"] == "created"
        assert (await _picked_up(quick, order_id, clock)).applied == 1
        assert (await order_row(services, order_id))["shipping"] == "shipped"
        assert quick.pid == started  # the same writer went on
    finally:
        await quick.aclose()


async def test_a_writer_killed_mid_group_fails_that_group_then_starts_again(
    services: Services, clock: FrozenClock, writer: WriterProcess, parcel: int
) -> None:
    order_id, first = parcel, await _running(writer)
    with write_lock_held(services.db.path):  # the writer waits for it, mid-group
        group = asyncio.create_task(_picked_up(writer, order_id, clock))
        await _taken_by_the_writer(writer, first)
        first.kill()
        with pytest.raises(DatabaseError, match=r"the carrier writer stopped \(exit -9\)"):
            await group
    assert (await order_row(services, order_id))["shipping"] == "created"  # nothing half-done

    assert (await _picked_up(writer, order_id, clock)).applied == 1
    assert writer.pid not in (None, first.pid)


async def test_a_group_given_up_mid_exchange_never_answers_for_the_next(
    services: Services, clock: FrozenClock, writer: WriterProcess, parcel: int
) -> None:
    order_id, first = parcel, await _running(writer)
    with write_lock_held(services.db.path):
        group = asyncio.create_task(_picked_up(writer, order_id, clock))
        await _taken_by_the_writer(writer, first)
        group.cancel()  # the worker stopping, say
        with pytest.raises(asyncio.CancelledError):
            await group
    assert await asyncio.wait_for(first.wait(), 10) == 0  # it finished its group and left
    # The next group gets its own answer: nothing moves, that event is known by then.
    summary = await _picked_up(writer, order_id, clock)
    assert (summary.applied, summary.refused) == (0, 0)
    assert (await order_row(services, order_id))["shipping"] == "shipped"


async def test_a_writer_whose_worker_died_before_the_answer_exits_quietly(
    services: Services, clock: FrozenClock
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-m", "codspot_tui.carriers.writer", str(services.db.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert writer.stdin is not None and writer.stdout is not None and writer.stderr is not None

    def send(message: object) -> None:
        data = pickle.dumps(message)
        writer.stdin.write(struct.pack(">I", len(data)) + data)
        writer.stdin.flush()

    send(services.settings)
    (size,) = struct.unpack(">I", writer.stdout.read(4))
    assert pickle.loads(writer.stdout.read(size)) == (True, None)
    with write_lock_held(services.db.path):  # the answer cannot come before the worker dies
        send(("sandbox", clock.now, [], [], [], []))
        writer.stdout.close()  # the worker, killed: nobody reads the answer
        writer.stdin.close()
    assert writer.wait(10) == 0
    assert writer.stderr.read() == b""  # nothing lands in the worker's log


async def test_closing_lets_the_writer_exit_by_itself(
    services: Services, writer: WriterProcess
) -> None:
    process = await _running(writer)
    await writer.aclose()
    assert process.returncode == 0
    await writer.aclose()  # twice is harmless


async def test_a_writer_that_cannot_open_the_database_says_why(services: Services) -> None:
    missing = services.db.path.with_name("nowhere.db")
    lost = WriterProcess(missing, services.settings)
    with pytest.raises(DatabaseError, match="no database at"):
        await lost.start()
    await lost.aclose()


class _TwoPartError(Exception):
    def __init__(self, what: str, where: str) -> None:
        super().__init__(f"{what} at {where}")


def test_an_error_that_would_not_load_in_the_worker_travels_as_its_text() -> None:
    frame = io.BytesIO()
    _write(frame, False, _TwoPartError("disk full", "/var"))
    frame.seek(0)
    ok, error = _read(frame)
    assert not ok
    assert isinstance(error, DatabaseError) and str(error) == "disk full at /var"
