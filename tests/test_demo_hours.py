"""The demo at any hour: its newest confirmations wait for the worker, so parcels move at once.

Agents confirm between 09:00 and 21:00 in Morocco; a demo built at night must still have
parcels for the worker to hand over. Each test runs at fixed clocks, never the machine's.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import FrozenClock

from codspot_tui.cli_dashboard import DEMO_ORDERS, DEMO_TOP_UP, build_demo
from codspot_tui.services.bundle import Services
from codspot_tui.services.seed_journeys import HOUR, working_time_back
from codspot_tui.settings import Settings

MOROCCO = ZoneInfo("Africa/Casablanca")  # UTC+1 in December
HOURS = {
    "00:30 local": datetime(2026, 12, 5, 0, 30, tzinfo=MOROCCO),
    "06:00 local": datetime(2026, 12, 5, 6, 0, tzinfo=MOROCCO),
    "08:59 local, before opening": datetime(2026, 12, 5, 8, 59, tzinfo=MOROCCO),
    "13:00 local": datetime(2026, 12, 5, 13, 0, tzinfo=MOROCCO),
    "21:30 local, after closing": datetime(2026, 12, 5, 21, 30, tzinfo=MOROCCO),
    "UTC midnight": datetime(2026, 12, 6, 0, 0, 0, tzinfo=UTC),
    "a second before UTC midnight": datetime(2026, 12, 5, 23, 59, 59, tzinfo=UTC),
}


def waiting(path: Path) -> tuple[int, int]:
    """(orders, parcels whose creation waits for the worker)."""
    with sqlite3.connect(path) as conn:
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        jobs = conn.execute("SELECT count(*) FROM outbox WHERE done_at IS NULL").fetchone()[0]
        shown = conn.execute(
            """SELECT count(*) FROM outbox j JOIN orders o ON o.id = j.order_id
               WHERE j.done_at IS NULL AND o.shipping = 'created' AND o.sync = 'pending'"""
        ).fetchone()[0]
    assert jobs == shown  # each waiting job is a parcel shown `created · pending sync`
    return orders, jobs


async def demo(path: Path, clock: FrozenClock) -> None:
    """What `codspot demo` builds before it starts the dashboard, at the clock's time."""
    services = await Services.open(path, Settings(), create=True, clock=clock)
    try:
        await build_demo(services, "boss", tour=False)
    finally:
        await services.close()


async def due_now(path: Path, clock: FrozenClock) -> int:
    """Parcel jobs the worker's first pass takes, at the clock's time."""
    services = await Services.open(path, Settings(), clock=clock)
    try:
        return len(await services.parcels.due_jobs(limit=1000))
    finally:
        await services.close()


@pytest.mark.parametrize("moment", HOURS.values(), ids=HOURS.keys())
async def test_a_demo_built_at_any_hour_has_parcels_for_the_worker(
    tmp_path: Path, moment: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    path, clock = tmp_path / "demo.db", FrozenClock(moment.astimezone(UTC))
    await demo(path, clock)
    assert "Building the demo shop" in capsys.readouterr().out
    orders, jobs = waiting(path)
    assert orders == DEMO_ORDERS and jobs > 0
    assert await due_now(path, clock) == jobs  # handed over on the worker's first pass

    clock.advance(minutes=1)  # a demo started again while they wait: the same shop
    await demo(path, clock)
    assert capsys.readouterr().out == ""
    assert waiting(path) == (orders, jobs)

    # A later demo whose carrier took them all: a day of orders brings new ones to hand over.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE outbox SET done_at = next_attempt_at WHERE done_at IS NULL")
    clock.advance(minutes=10)
    await demo(path, clock)
    assert "Adding a day of orders" in capsys.readouterr().out
    more_orders, more_jobs = waiting(path)
    assert more_orders == DEMO_ORDERS + DEMO_TOP_UP and more_jobs > 0
    assert await due_now(path, clock) == more_jobs


async def test_a_night_demo_is_the_same_each_time(tmp_path: Path) -> None:
    def dump(path: Path) -> list[tuple[object, ...]]:
        with sqlite3.connect(path) as conn:
            return conn.execute(
                """SELECT o.*, j.* FROM orders o LEFT JOIN outbox j ON j.order_id = o.id
                   ORDER BY o.id"""
            ).fetchall()

    night = HOURS["00:30 local"].astimezone(UTC)
    for name in ("one.db", "two.db"):
        await demo(tmp_path / name, FrozenClock(night))
    assert dump(tmp_path / "one.db") == dump(tmp_path / "two.db")


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@pytest.mark.parametrize(
    ("end", "hours", "expected"),
    [
        # (now, working hours back, the moment it reaches), all in Morocco's time
        ((2026, 12, 5, 13, 0), 1, (2026, 12, 5, 12, 0)),
        ((2026, 12, 5, 13, 0), 4, (2026, 12, 5, 9, 0)),
        ((2026, 12, 5, 13, 0), 5, (2026, 12, 4, 20, 0)),  # the morning, then last evening
        ((2026, 12, 5, 0, 30), 1, (2026, 12, 4, 20, 0)),  # at night: yesterday's last hour
        ((2026, 12, 5, 8, 59), 1, (2026, 12, 4, 20, 0)),
        ((2026, 12, 4, 23, 0), 1, (2026, 12, 4, 20, 0)),  # after closing, before midnight
        ((2026, 12, 5, 9, 30), 1, (2026, 12, 4, 20, 30)),
        ((2026, 12, 5, 0, 30), 13, (2026, 12, 3, 20, 0)),  # a whole working day and an hour
    ],
)
def test_the_pending_window_counts_working_hours_only(
    end: tuple[int, ...], hours: int, expected: tuple[int, ...]
) -> None:
    at = datetime(*end, tzinfo=MOROCCO)
    assert working_time_back(epoch(at), hours * HOUR) == epoch(datetime(*expected, tzinfo=MOROCCO))
    assert working_time_back(epoch(at), 0) == epoch(at)


def test_the_pending_window_ends_at_the_last_working_moment_across_utc_midnight() -> None:
    before = datetime(2026, 12, 5, 23, 59, 59, tzinfo=UTC)
    after = before + timedelta(seconds=1)
    # 21:00 local is 20:00 UTC: the same evening's hour on both sides of UTC midnight.
    for now in (before, after):
        assert working_time_back(epoch(now), HOUR) == epoch(datetime(2026, 12, 5, 19, tzinfo=UTC))
