"""Benchmark: the core moves and pages over a database of a million seeded orders.

    python benchmarks/bench_core.py [--orders 1000000] [--data-dir DIR] [--fresh]

One database (`seed_database`, kept in the data dir, built when missing or with --fresh),
three figures, each against a raw stdlib-sqlite3 bound measured in the same run on the same
file, with the service and the bound taking turns so that the machine's noise hits both:
(a) one status move: `StatusService.apply` of a confirmation move (no_answer) on distinct
    waiting orders, median per move, vs one UPDATE of the order row in its own transaction.
    Target: at most 10x the bound.
(b) a carrier batch: 1,000 shipping moves (created/fulfilled -> shipped, shipped ->
    delivered, each with a carrier event id and time) in one `StatusService.apply_batch`
    by `Actor.carrier("sandbox")`, vs `executemany` of the same UPDATE and INSERT
    statements in one transaction. Target: at least 40% of the bound's moves per second.
(c) first pages of 50: the confirmation queue (`QueueService.queue_page`) and the shipping
    board (`OrderService.page`, shipped parcels), vs the same indexed queries run raw.
    Target: under 5 ms and at most 3x the bound.
Each run uses up some waiting orders and parcels; a used-up database is built again.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codspot_tui.domain.models import Actor  # noqa: E402
from codspot_tui.domain.statuses import Confirmation, Role, Shipping, StatusKind  # noqa: E402
from codspot_tui.domain.times import to_stored  # noqa: E402
from codspot_tui.services.bundle import Services  # noqa: E402
from codspot_tui.services.seed import seed_database  # noqa: E402
from codspot_tui.services.status import Move  # noqa: E402
from codspot_tui.settings import Settings  # noqa: E402
from codspot_tui.store.orders import ORDER_COLUMNS, OrderFilter  # noqa: E402

MOVES = 1000  # (a) moves timed, each side
BATCH = 1000  # (b) moves in one batch
ROUNDS = 4  # (b) batches timed, each side, taking turns at going first
PAGES = 200  # (c) pages timed, each side
WARM_UP = 20
MOVE_RATIO_TARGET = 10.0
BATCH_SHARE_TARGET = 0.40
PAGE_MS_TARGET = 5.0
PAGE_RATIO_TARGET = 3.0
CARRIER = Actor.carrier("sandbox")
NEXT_SHIPPING = {"created": "shipped", "fulfilled": "shipped", "shipped": "delivered"}


@dataclass(frozen=True)
class Figure:
    name: str
    service: float
    raw: float
    ok: bool


def machine() -> str:
    return (
        f"{platform.platform()}, {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores, Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}"
    )


async def build(path: Path, orders: int, settings: Settings) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    services = await Services.open(path, settings, create=True)
    try:
        await services.agents.initialise("admin")
        started = time.perf_counter()
        await seed_database(services.db, settings, orders=orders, seed=1)
        return time.perf_counter() - started
    finally:
        await services.close()


def raw_connection(path: Path) -> sqlite3.Connection:
    """The bound's connection, set up as `Database` sets up its own."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def waiting_orders(conn: sqlite3.Connection, wanted: int) -> list[sqlite3.Row]:
    """Unclaimed orders a no_answer move applies to: new first, then already unanswered."""
    return conn.execute(
        """SELECT id, attempts, version FROM orders
           WHERE confirmation IN ('new', 'no_answer') AND claimed_by IS NULL
           ORDER BY confirmation = 'no_answer', id LIMIT ?""",
        (wanted,),
    ).fetchall()


def parcels(conn: sqlite3.Connection, wanted: int) -> list[sqlite3.Row]:
    """Synced sandbox parcels the carrier may move on: not yet shipped first."""
    return conn.execute(
        """SELECT id, shipping, version FROM orders
           WHERE delivery = 'sandbox' AND sync = 'synced'
             AND shipping IN ('created', 'fulfilled', 'shipped')
           ORDER BY shipping = 'shipped', id LIMIT ?""",
        (wanted,),
    ).fetchall()


def enough(conn: sqlite3.Connection, orders: int) -> bool:
    """Whether earlier runs left what this one needs (a fresh database has 2% and 1% more)."""
    moves = min(2 * (MOVES + WARM_UP), orders // 50)
    batches = min(2 * ROUNDS * BATCH, orders // 100)
    return len(waiting_orders(conn, moves)) == moves and len(parcels(conn, batches)) == batches


async def one_move(services: Services, raw: sqlite3.Connection, agent: Actor) -> Figure:
    """(a) StatusService.apply vs BEGIN IMMEDIATE; UPDATE orders ...; COMMIT."""
    found = waiting_orders(raw, 2 * (MOVES + WARM_UP))
    moves = max(1, len(found) // 2 - WARM_UP)
    mine, theirs = found[0::2], found[1::2]
    service_times: list[float] = []
    raw_times: list[float] = []
    for index in range(min(len(mine), len(theirs))):
        move = Move(mine[index]["id"], StatusKind.CONFIRMATION, Confirmation.NO_ANSWER)
        started = time.perf_counter()
        await services.status.apply(agent, move)
        service_times.append(time.perf_counter() - started)
        order = theirs[index]
        now = to_stored(datetime.now(UTC))
        started = time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(
            """UPDATE orders SET confirmation = ?, shipping = ?, sync = ?, attempts = ?,
                      last_attempt_at = ?, callback_at = ?, claimed_by = ?,
                      claim_expires_at = ?, updated_at = ?, version = ?
               WHERE id = ? AND version = ?""",
            (
                "no_answer",
                None,
                None,
                order["attempts"] + 1,
                now,
                None,
                None,
                None,
                now,
                order["version"] + 1,
                order["id"],
                order["version"],
            ),
        )
        raw.execute("COMMIT")
        raw_times.append(time.perf_counter() - started)
    service = statistics.median(service_times[WARM_UP:] or service_times)
    bound = statistics.median(raw_times[WARM_UP:] or raw_times)
    print(f"(a) one status move (no_answer), median of {moves} on distinct waiting orders")
    print(f"    StatusService.apply          {service * 1000:8.3f} ms")
    print(f"    raw sqlite3 UPDATE           {bound * 1000:8.3f} ms")
    ratio = service / bound
    ok = ratio <= MOVE_RATIO_TARGET
    print(f"    ratio                        {ratio:8.1f}x    target <= 10x    {verdict(ok)}")
    return Figure("one move", service, bound, ok)


async def _service_batch(services: Services, mine: list[sqlite3.Row]) -> float:
    at = datetime.now(UTC)
    moves = [
        Move(
            p["id"],
            StatusKind.SHIPPING,
            Shipping(NEXT_SHIPPING[p["shipping"]]),
            carrier_event_id=f"bench-{p['id']}-{p['version']}",
            at=at,
        )
        for p in mine
    ]
    started = time.perf_counter()
    results = await services.status.apply_batch(CARRIER, moves)
    seconds = time.perf_counter() - started
    assert all(r.applied for r in results), [r.reason for r in results if not r.applied][:3]
    return seconds


async def _raw_batch(raw: sqlite3.Connection, theirs: list[sqlite3.Row]) -> float:
    now = to_stored(datetime.now(UTC))
    updates = [
        (NEXT_SHIPPING[p["shipping"]], now, now, p["version"] + 1, p["id"], p["version"])
        for p in theirs
    ]
    events = [
        (
            p["id"],
            "shipping",
            p["shipping"],
            NEXT_SHIPPING[p["shipping"]],
            CARRIER.label,
            "carrier",
            None,
            f"bench-{p['id']}-{p['version']}",
            0,
            now,
            None,
        )
        for p in theirs
    ]
    started = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    raw.executemany(
        """UPDATE orders SET shipping = ?, updated_at = ?, last_carrier_event_at = ?,
                  version = ?
           WHERE id = ? AND version = ?""",
        updates,
    )
    raw.executemany(
        """INSERT INTO status_events (order_id, kind, from_status, to_status, actor, source,
                                      note, carrier_event_id, ignored, at, raw_status)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        events,
    )
    raw.execute("COMMIT")
    return time.perf_counter() - started


async def carrier_batch(services: Services, raw: sqlite3.Connection) -> Figure:
    """(b) one apply_batch of carrier moves vs executemany of its UPDATE and INSERT."""
    found = parcels(raw, 2 * ROUNDS * BATCH)
    size = max(1, min(BATCH, len(found) // (2 * ROUNDS)))
    service_times: list[float] = []
    raw_times: list[float] = []
    for round_ in range(ROUNDS):
        chunk = found[2 * round_ * size : 2 * (round_ + 1) * size]
        # Neighbouring orders share pages: whichever side goes first reads them in for the
        # other, so the sides take turns at going first.
        sides = [
            (service_times, _service_batch(services, chunk[0::2])),
            (raw_times, _raw_batch(raw, chunk[1::2])),
        ]
        for times, side in sides if round_ % 2 == 0 else reversed(sides):
            times.append(await side)
    service, bound = statistics.median(service_times), statistics.median(raw_times)
    print(f"(b) {size:,} carrier moves in one batch, median of {ROUNDS} batches")
    for name, seconds in (
        ("StatusService.apply_batch", service),
        ("raw sqlite3 executemany", bound),
    ):
        print(f"    {name:28s} {size / seconds:8,.0f} moves/s ({seconds * 1000:.1f} ms)")
    share = bound / service
    ok = share >= BATCH_SHARE_TARGET
    print(f"    throughput ratio             {share:8.0%}     target >= 40%    {verdict(ok)}")
    return Figure("carrier batch", service, bound, ok)


def raw_queue_page(conn: sqlite3.Connection, agent: str, now: str) -> list[sqlite3.Row]:
    """The queries of `QueueService.queue_page` (shared dispatch), run raw."""
    ids: list[int] = []
    claim = "(claimed_by IS NULL OR claimed_by = ? OR claim_expires_at <= ?)"
    tiers = (
        ("call_later", f"confirmation = ? AND {claim} AND callback_at <= ?", "callback_at, id"),
        ("new", f"confirmation = ? AND {claim}", "created_at, id"),
        ("no_answer", f"confirmation = ? AND {claim}", "attempts, last_attempt_at, id"),
    )
    for status, where, order_by in tiers:
        if len(ids) >= 50:
            break
        params: list[Any] = [status, agent, now] + ([now] if status == "call_later" else [])
        sql = f"SELECT id FROM orders WHERE {where} ORDER BY {order_by} LIMIT ?"
        ids += [row[0] for row in conn.execute(sql, [*params, 50 - len(ids)])]
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id IN ({marks})", ids)
    found = rows.fetchall()
    items_of(conn, ids)
    return found


def raw_board_page(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """The queries of `OrderService.page(OrderFilter(shipping={shipped}))`, run raw."""
    rows = conn.execute(
        f"""SELECT {ORDER_COLUMNS} FROM orders o
            WHERE o.shipping IN (?) ORDER BY o.id DESC LIMIT ?""",
        ("shipped", 50),
    ).fetchall()
    items_of(conn, [row["id"] for row in rows])
    return rows


def items_of(conn: sqlite3.Connection, ids: list[int]) -> list[sqlite3.Row]:
    marks = ",".join("?" * len(ids))
    return conn.execute(
        f"""SELECT i.order_id, p.sku, i.qty, i.price_cents
            FROM order_items i JOIN products p ON p.id = i.product_id
            WHERE i.order_id IN ({marks}) ORDER BY i.order_id, i.line""",
        ids,
    ).fetchall()


async def first_page(
    name: str,
    service_call: Callable[[], Awaitable[list[Any]]],
    raw_call: Callable[[], list[sqlite3.Row]],
) -> Figure:
    service_times: list[float] = []
    raw_times: list[float] = []
    for _ in range(WARM_UP + PAGES):
        started = time.perf_counter()
        got = await service_call()
        service_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        raw_got = raw_call()
        raw_times.append(time.perf_counter() - started)
    assert len(got) == len(raw_got), (name, len(got), len(raw_got))
    service = statistics.median(service_times[WARM_UP:])
    bound = statistics.median(raw_times[WARM_UP:])
    ratio = service / bound
    ok = service * 1000 < PAGE_MS_TARGET and ratio <= PAGE_RATIO_TARGET
    print(
        f"    {name:28s} {service * 1000:6.2f} ms, raw {bound * 1000:5.2f} ms, {ratio:4.1f}x"
        f"   target < 5 ms and <= 3x   {verdict(ok)}"
    )
    return Figure(name, service, bound, ok)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


async def run(orders: int, data_dir: Path, fresh: bool) -> bool:
    settings = Settings()
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"bench_core_{orders}.db"
    print("codspot core benchmark")
    print(f"machine: {machine()}")
    print(f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    reason = "--fresh" if fresh else None if path.exists() else "missing"
    if reason is None:
        probe = raw_connection(path)
        try:
            reason = None if enough(probe, orders) else "used up by earlier runs"
        finally:
            probe.close()
    if reason is not None:
        seconds = await build(path, orders, settings)
        size = path.stat().st_size / 1e6
        print(f"database: {orders:,} orders seeded in {seconds:.1f} s, {size:,.0f} MB ({reason})")
    else:
        print(f"database: {orders:,} orders, reused ({path})")
    services = await Services.open(path, settings)
    raw = raw_connection(path)
    try:
        agent_name = raw.execute(
            "SELECT assigned_to FROM orders WHERE source = 'seed' ORDER BY id LIMIT 1"
        ).fetchone()[0]
        agent = Actor.agent(agent_name, Role.AGENT)
        figures = [await one_move(services, raw, agent), await carrier_batch(services, raw)]
        print("(c) first page of 50, median of 200")
        figures.append(
            await first_page(
                "confirmation queue",
                lambda: services.queue.queue_page(agent, limit=50),
                lambda: raw_queue_page(raw, agent.name, to_stored(services.clock())),
            )
        )
        shipped = OrderFilter(shipping=frozenset({Shipping.SHIPPED}))
        figures.append(
            await first_page(
                "shipping board (shipped)",
                lambda: services.orders.page(shipped, limit=50),
                lambda: raw_board_page(raw),
            )
        )
    finally:
        raw.close()
        await services.close()
    passed = all(figure.ok for figure in figures)
    print(verdict(passed))
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / "benchmarks" / ".data", help="Database folder."
    )
    parser.add_argument("--fresh", action="store_true", help="Seed the database again.")
    args = parser.parse_args()
    if args.orders < 1000:
        parser.error("--orders must be at least 1000")
    sys.exit(0 if asyncio.run(run(args.orders, args.data_dir, args.fresh)) else 1)


if __name__ == "__main__":
    main()
