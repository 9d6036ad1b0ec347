"""Several processes on one SQLite file, as several operators over SSH (DESIGN §3).

Each child process opens its own Services on the shared file and waits at a barrier, so
that they all write at the same moment.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conftest import Shop

from codspot_tui.domain.errors import CodspotError
from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Confirmation, Role, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.status import Move
from codspot_tui.settings import Settings

SPAWN = multiprocessing.get_context("spawn")
TIMEOUT = 60.0
KARIM = Actor.agent("karim", Role.AGENT)


# --- what each child process runs ---------------------------------------------------------------


def _child(job: Callable[..., Any], path: str, barrier: Any, results: Any, *args: Any) -> None:
    """Open the database, wait for the others, do the job, report (never raise)."""

    async def main() -> list[Any]:
        services = await Services.open(Path(path), Settings())
        try:
            barrier.wait(TIMEOUT)
            return await job(services, *args)
        finally:
            await services.close()

    try:
        results.put(("ok", asyncio.run(main())))
    except BaseException:
        results.put(("crash", traceback.format_exc()))


async def _confirm_each(services: Services, order_ids: Sequence[int]) -> list[tuple[str, str]]:
    outcomes = []
    for order_id in order_ids:
        try:
            result = await services.status.apply(
                KARIM, Move(order_id, StatusKind.CONFIRMATION, Confirmation.CONFIRMED)
            )
            outcomes.append(("applied" if result.applied else "not applied", ""))
        except CodspotError as error:
            outcomes.append((type(error).__name__, str(error)))
    return outcomes


async def _claim_one_each(services: Services, agents: Sequence[str]) -> list[tuple[str, int]]:
    claims = []
    for name in agents:
        order = await services.queue.claim_next(Actor.agent(name, Role.AGENT))
        claims.append((name, -1 if order is None else order.id))
    return claims


def _race(path: Path, job: Callable[..., Any], per_process: Sequence[Any]) -> list[Any]:
    """Run `job` in one spawned process per entry of `per_process`, all at once."""
    barrier = SPAWN.Barrier(len(per_process))
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=_child, args=(job, str(path), barrier, results, arg))
        for arg in per_process
    ]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=TIMEOUT) for _ in processes]
    finally:
        for process in processes:
            process.join(TIMEOUT)
            if process.is_alive():
                process.kill()
    crashes = [text for kind, text in reports if kind == "crash"]
    assert not crashes, "\n".join(crashes)
    assert all(process.exitcode == 0 for process in processes)
    return [value for _, value in reports]


# --- the tests ----------------------------------------------------------------------------------


async def test_eight_processes_confirming_one_order_take_stock_once(
    services: Services, shop: Shop, db_path: Path
) -> None:
    await shop.product("ARGAN", stock=5)
    order_id = await shop.order(items=(("ARGAN", 2),))

    reports = await asyncio.to_thread(_race, db_path, _confirm_each, [[order_id]] * 8)

    outcomes = sorted(outcome for (outcome,) in reports)
    assert outcomes.count(("applied", "")) == 1, outcomes
    losers = [kind for kind, _ in outcomes if kind != "applied"]
    assert losers == ["OrderLocked"] * 7, outcomes
    assert (await services.stock.product("ARGAN")).on_hand == 3
    db = services.db
    assert (
        await db.scalar("SELECT count(*) FROM stock_movements WHERE order_id = ?", (order_id,)) == 1
    )
    kinds = await db.fetchall(
        "SELECT kind FROM status_events WHERE order_id = ? ORDER BY id", (order_id,)
    )
    assert [row[0] for row in kinds] == ["confirmation", "shipping"]  # one confirming's two rows
    assert await db.scalar("SELECT count(*) FROM outbox WHERE order_id = ?", (order_id,)) == 1
    order = await services.orders.get(order_id)
    assert (order.confirmation, order.version) == (Confirmation.CONFIRMED, 2)


async def test_eight_processes_confirming_different_orders_all_succeed(
    services: Services, shop: Shop, db_path: Path
) -> None:
    await shop.product("ARGAN", stock=1000)
    order_ids = [await shop.order() for _ in range(40)]
    batches = [order_ids[i::8] for i in range(8)]

    reports = await asyncio.to_thread(_race, db_path, _confirm_each, batches)

    outcomes = [outcome for report in reports for outcome in report]
    assert outcomes == [("applied", "")] * 40, [o for o in outcomes if o[0] != "applied"]
    assert (await services.stock.product("ARGAN")).on_hand == 960
    assert await services.db.scalar("SELECT count(*) FROM outbox") == 40
    assert (
        await services.db.scalar(
            "SELECT count(*) FROM orders WHERE confirmation = 'confirmed' AND shipping = 'created'"
        )
        == 40
    )


async def test_claim_next_from_several_processes_never_hands_one_order_twice(
    services: Services, shop: Shop, db_path: Path
) -> None:
    order_ids = [await shop.order() for _ in range(30)]
    agents = [[f"agent{p}-{n}" for n in range(6)] for p in range(4)]  # 24 agents, 30 orders

    reports = await asyncio.to_thread(_race, db_path, _claim_one_each, agents)

    claims = [claim for report in reports for claim in report]
    handed = [order_id for _, order_id in claims]
    assert -1 not in handed, "an agent was told the queue was empty"
    assert len(set(handed)) == len(handed) == 24, sorted(handed)
    rows = await services.db.fetchall(
        "SELECT id, claimed_by FROM orders WHERE claimed_by IS NOT NULL"
    )
    assert {(row["claimed_by"], row["id"]) for row in rows} == set(claims)
    # Queue order held across processes: the 24 oldest orders went, the 6 newest stayed.
    assert sorted(handed) == order_ids[:24]
