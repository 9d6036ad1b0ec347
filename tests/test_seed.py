"""The synthetic shop: every row as if each move had gone through StatusService.

Each seeded database is read back with plain SQL and held to the rules of DESIGN §1, the
tables of `domain.rules` and the schema, then handed to the real services.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from conftest import FrozenClock

from codspot_tui.domain.models import Actor
from codspot_tui.domain.rules import Mover, allowed_targets
from codspot_tui.domain.statuses import Confirmation, Role, Shipping, StatusKind
from codspot_tui.domain.times import to_stored
from codspot_tui.services import seed as seed_module
from codspot_tui.services.bundle import Services
from codspot_tui.services.seed import SeedReport, seed_database
from codspot_tui.services.status import Move
from codspot_tui.settings import Settings
from codspot_tui.store.orders import OrderFilter

ORDERS = 2000
TABLES = ("agents", "products", "orders", "order_items", "status_events", "stock_movements")


async def seeded(
    services: Services, clock: FrozenClock, *, orders: int = ORDERS, seed: int = 1
) -> SeedReport:
    return await seed_database(
        services.db, services.settings, orders=orders, seed=seed, clock=clock
    )


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [tuple(row) for row in rows(path, f"SELECT * FROM {table} ORDER BY rowid")]
        for table in (*TABLES, "outbox")
    }


def check_everything(path: Path, settings: Settings, now: str, *, one_seed: bool = True) -> None:
    """Every invariant the services keep, read back with SQL."""
    assert [tuple(r) for r in rows(path, "PRAGMA integrity_check")] == [("ok",)]  # CHECKs too
    assert rows(path, "PRAGMA foreign_key_check") == []
    check_timelines(path, settings, now)
    check_stock(path, one_seed=one_seed)
    check_outbox(path, settings)


def check_timelines(path: Path, settings: Settings, now: str) -> None:
    carrier = next(iter(settings.carriers))
    events: dict[int, list[sqlite3.Row]] = defaultdict(list)
    for event in rows(path, "SELECT * FROM status_events ORDER BY id"):
        events[event["order_id"]].append(event)
    for order in rows(path, "SELECT * FROM orders"):
        timeline = events[order["id"]]
        confirmation: str = Confirmation.NEW
        shipping: str | None = None
        applied = attempts = 0
        tried = callback = last_carrier = None
        last_at = order["created_at"]
        seen_ids: set[str] = set()
        confirmed_by: tuple[str, str, str] | None = None  # whose confirming awaits its 2nd row
        for event in timeline:
            assert last_at <= event["at"] <= now, order["ref"]
            last_at = event["at"]
            kind = StatusKind(event["kind"])
            current = confirmation if kind is StatusKind.CONFIRMATION else shipping
            assert event["from_status"] == current, (order["ref"], event["id"])
            if event["carrier_event_id"] is not None:
                assert event["carrier_event_id"] not in seen_ids
                seen_ids.add(event["carrier_event_id"])
            if confirmed_by is not None:
                # Confirming's second row: shipping from nothing to created (DESIGN §1, Audit).
                assert (kind, event["to_status"], event["ignored"]) == (
                    StatusKind.SHIPPING,
                    Shipping.CREATED,
                    0,
                ), order["ref"]
                assert (event["actor"], event["source"], event["at"]) == confirmed_by
                shipping, confirmed_by = Shipping.CREATED, None
                continue
            if event["ignored"]:
                # A refused carrier event: on the timeline, changing nothing (DESIGN §1), but
                # still the newest event seen: an older one coming later would change nothing.
                assert event["actor"] == f"carrier:{carrier}" and event["source"] == "carrier"
                assert event["to_status"] not in allowed_targets(kind, current, Mover.CARRIER)
                assert event["note"] and order["ref"] in event["note"]
                last_carrier = max(last_carrier or "", event["at"])
                continue
            mover = mover_of(event, order["delivery"], carrier)
            assert event["to_status"] in allowed_targets(kind, current, mover), (
                order["ref"],
                f"{current}->{event['to_status']} by {mover}",
            )
            applied += 1
            if kind is StatusKind.CONFIRMATION:
                confirmation = event["to_status"]
                if confirmation in (Confirmation.NO_ANSWER, Confirmation.CALL_LATER):
                    tried = event["at"]
                attempts += confirmation == Confirmation.NO_ANSWER
                callback = event["at"] if confirmation == Confirmation.CALL_LATER else None
                if confirmation == Confirmation.CONFIRMED:
                    confirmed_by = (event["actor"], event["source"], event["at"])
            else:
                assert order["sync"] != "pending", "the carrier can't move an unsynced parcel"
                shipping = event["to_status"]
                if mover is Mover.CARRIER:
                    last_carrier = event["at"]
        assert confirmed_by is None, order["ref"]
        assert (order["confirmation"], order["shipping"]) == (confirmation, shipping)
        assert order["version"] == 1 + applied
        assert order["attempts"] == attempts
        assert order["last_attempt_at"] == tried
        assert order["last_carrier_event_at"] == last_carrier
        if callback is None:
            assert order["callback_at"] is None
        else:  # set when the call was made, never in that call's past
            assert order["callback_at"] >= callback
        if settings.max_attempts and confirmation == Confirmation.NO_ANSWER:
            assert attempts < settings.max_attempts


def mover_of(event: sqlite3.Row, delivery: str, carrier: str) -> Mover:
    if event["source"] == "carrier":
        assert event["actor"] == f"carrier:{carrier}" and delivery == carrier
        assert event["kind"] == "shipping" and event["carrier_event_id"]
        return Mover.CARRIER
    assert event["carrier_event_id"] is None
    if event["source"] == "auto":
        assert event["actor"] == "system" and event["to_status"] == "canceled"
        return Mover.SYSTEM
    assert event["source"] == "manual" and event["actor"].startswith("agent:")
    return Mover.LOCAL_OPERATOR if delivery == "local" else Mover.OPERATOR


def check_stock(path: Path, *, one_seed: bool) -> None:
    for product in rows(
        path,
        """SELECT p.id, p.on_hand, (SELECT SUM(delta) FROM stock_movements m
                                   WHERE m.product_id = p.id) AS ledger
           FROM products p""",
    ):
        assert product["on_hand"] == product["ledger"]
    # Never below zero at any point of the ledger, read in id order.
    assert not rows(
        path,
        """SELECT 1 FROM (SELECT SUM(delta) OVER (PARTITION BY product_id ORDER BY id) AS level
                          FROM stock_movements) WHERE level < 0""",
    )
    ledger = rows(path, "SELECT * FROM stock_movements ORDER BY id")
    if one_seed:  # a second seed's weeks overlap the first's, its ids come after them
        assert [m["at"] for m in ledger] == sorted(m["at"] for m in ledger), "ids follow time"
    moved = Counter((m["order_id"], m["product_id"], m["reason"]) for m in ledger if m["order_id"])
    assert max(moved.values()) == 1
    by_order = {(m["order_id"], m["product_id"], m["reason"]): m for m in ledger}
    confirming = {
        e["order_id"]: e
        for e in rows(path, "SELECT * FROM status_events WHERE to_status = 'confirmed'")
    }
    returning = {
        e["order_id"]: e
        for e in rows(
            path,
            """SELECT * FROM status_events
               WHERE kind = 'shipping' AND to_status = 'returned' AND ignored = 0""",
        )
    }
    for item in rows(
        path,
        """SELECT o.id, o.confirmation, o.shipping, i.product_id, SUM(i.qty) AS qty
           FROM orders o JOIN order_items i ON i.order_id = o.id
           GROUP BY o.id, i.product_id""",
    ):
        taken = by_order.get((item["id"], item["product_id"], "confirmed"))
        back = by_order.get((item["id"], item["product_id"], "returned"))
        if item["confirmation"] == "confirmed":
            assert taken is not None and taken["delta"] == -item["qty"]
            event = confirming[item["id"]]
            assert (taken["actor"], taken["at"]) == (event["actor"], event["at"])
        else:
            assert taken is None
        if item["shipping"] == "returned":
            assert back is not None and back["delta"] == item["qty"]
            event = returning[item["id"]]
            assert (back["actor"], back["at"]) == (event["actor"], event["at"])
        else:
            assert back is None
    restocks = [m for m in ledger if m["reason"] == "restock"]
    assert restocks and all(m["delta"] > 0 and m["order_id"] is None for m in restocks)


def check_outbox(path: Path, settings: Settings) -> None:
    carrier = next(iter(settings.carriers))
    jobs = {job["order_id"]: job for job in rows(path, "SELECT * FROM outbox")}
    for order in rows(path, "SELECT * FROM orders"):
        job = jobs.get(order["id"])
        if order["confirmation"] != "confirmed" or order["delivery"] == "local":
            assert job is None and order["sync"] is None and order["tracking"] is None
            continue
        assert order["delivery"] == carrier and job is not None and job["carrier"] == carrier
        assert job["created_at"] == job["next_attempt_at"]
        if order["sync"] == "synced":
            assert job["done_at"] is not None and job["done_at"] >= job["created_at"]
            assert re.fullmatch(r"SBX\d{10}", order["tracking"])
        else:
            assert order["sync"] == "pending", order["ref"]
            assert job["done_at"] is None and order["tracking"] is None
            assert order["shipping"] == "created"
    trackings = [r[0] for r in rows(path, "SELECT tracking FROM orders WHERE tracking NOT NULL")]
    assert len(trackings) == len(set(trackings))


async def test_a_seeded_shop_keeps_every_rule(
    services: Services, clock: FrozenClock, db_path: Path
) -> None:
    report = await seeded(services, clock)
    assert report.orders == ORDERS and report.products == 12
    assert 3 <= len(report.agents) <= 5
    assert {"karim", "salma"} <= set(report.agents)  # the fixture's agents, reused
    check_everything(db_path, services.settings, to_stored(clock()))


async def test_the_mix_of_statuses_looks_like_a_real_shop(
    services: Services, clock: FrozenClock, db_path: Path
) -> None:
    await seeded(services, clock)
    count = dict(rows(db_path, "SELECT confirmation, count(*) FROM orders GROUP BY 1"))
    assert set(count) == set(Confirmation)
    assert 0.5 < count["confirmed"] / ORDERS < 0.7
    shipping = {r[0] for r in rows(db_path, "SELECT DISTINCT shipping FROM orders")}
    assert shipping - {None} == set(Shipping)
    deliveries = dict(rows(db_path, "SELECT delivery, count(*) FROM orders GROUP BY 1"))
    assert set(deliveries) == {"sandbox", "local"}
    assert deliveries["sandbox"] > 4 * deliveries["local"]
    syncs = {r[0] for r in rows(db_path, "SELECT DISTINCT sync FROM orders")}
    assert syncs == {None, "pending", "synced"}
    # Recent orders wait in the queue; old ones are mostly done with.
    week_ago = to_stored(clock() - timedelta(days=7))
    old = dict(
        rows(
            db_path,
            "SELECT shipping, count(*) FROM orders WHERE created_at < ? GROUP BY 1",
            (week_ago,),
        )
    )
    assert old["delivered"] > sum(n for s, n in old.items() if s in ("created", "shipped"))
    now = to_stored(clock())
    due, later = rows(
        db_path,
        """SELECT count(*) FILTER (WHERE callback_at <= ?), count(*) FILTER (WHERE callback_at > ?)
           FROM orders WHERE confirmation = 'call_later'""",
        (now, now),
    )[0]
    assert due and later
    assert rows(db_path, "SELECT 1 FROM status_events WHERE ignored = 1")


async def test_orders_are_dealt_round_robin_with_unique_refs_and_valid_phones(
    services: Services, clock: FrozenClock, db_path: Path
) -> None:
    report = await seeded(services, clock)
    orders = rows(db_path, "SELECT ref, source, phone, assigned_to FROM orders ORDER BY id")
    assert [o["ref"] for o in orders] == [f"S{n:07d}" for n in range(1, ORDERS + 1)]
    assert {o["source"] for o in orders} == {"seed"}
    assert [o["assigned_to"] for o in orders[:10]] == [
        report.agents[i % len(report.agents)] for i in range(10)
    ]
    phones = [o["phone"] for o in orders]
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"\+212[67]\d{8}", phone) for phone in phones)
    for phone in phones[::10]:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == "MA"
    roles = dict(rows(db_path, "SELECT name, role FROM agents"))
    assert all(roles[name] == "agent" for name in report.agents)


async def test_the_same_seed_gives_the_same_shop(
    tmp_path: Path, settings: Settings, clock: FrozenClock
) -> None:
    dumps = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        path = tmp_path / f"{name}.db"
        services = await Services.open(path, settings, create=True, clock=clock)
        try:
            await services.agents.initialise("boss")
            await seed_database(services.db, settings, orders=500, seed=seed, clock=clock)
        finally:
            await services.close()
        dumps.append(dump(path))
    assert dumps[0] == dumps[1]
    assert dumps[0]["orders"] != dumps[2]["orders"]


async def test_seeding_again_continues_after_the_last_seed_ref(
    services: Services, clock: FrozenClock, db_path: Path
) -> None:
    first = await seeded(services, clock, orders=300)
    clock.advance(days=2)
    second = await seeded(services, clock, orders=300, seed=2)
    assert first.agents[:3] == second.agents[:3]
    refs = [r[0] for r in rows(db_path, "SELECT ref FROM orders ORDER BY id")]
    assert refs == [f"S{n:07d}" for n in range(1, 601)]
    assert rows(db_path, "SELECT count(*) FROM products")[0][0] == 12  # reused by SKU
    check_everything(db_path, services.settings, to_stored(clock()), one_seed=False)


async def test_a_seed_of_no_orders_still_stocks_the_shelves(
    services: Services, clock: FrozenClock, db_path: Path
) -> None:
    report = await seeded(services, clock, orders=0)
    assert report.orders == 0 and report.products == 12
    assert rows(db_path, "SELECT count(*) FROM orders")[0][0] == 0
    assert rows(db_path, "SELECT count(*) FROM products")[0][0] == 12
    assert not list(db_path.parent.glob(".codspot-seed-*")), "staging files are removed"


async def test_the_no_answer_limit_cancels_as_the_service_would(
    tmp_path: Path, clock: FrozenClock
) -> None:
    settings = Settings(max_attempts=2)
    path = tmp_path / "limit.db"
    services = await Services.open(path, settings, create=True, clock=clock)
    try:
        await services.agents.initialise("boss")
        await seed_database(services.db, settings, orders=1000, clock=clock)
    finally:
        await services.close()
    check_everything(path, settings, to_stored(clock()))
    auto = rows(path, "SELECT note FROM status_events WHERE source = 'auto'")
    assert auto and all(r["note"] == "no answer after 2 attempts (limit 2)" for r in auto)


async def test_the_services_work_on_seeded_orders(
    services: Services, clock: FrozenClock, db_path: Path
) -> None:
    report = await seeded(services, clock)
    agent = Actor.agent(report.agents[0], Role.AGENT)
    waiting = await services.queue.queue_page(agent, limit=50)
    assert len(waiting) == 50
    claimed = await services.queue.claim_next(agent)
    assert claimed is not None and claimed.id == waiting[0].id
    new = rows(db_path, "SELECT id FROM orders WHERE confirmation = 'new' ORDER BY id DESC")[0]
    result = await services.status.apply(
        agent, Move(new["id"], StatusKind.CONFIRMATION, Confirmation.CONFIRMED)
    )
    assert result.applied and result.status == Confirmation.CONFIRMED
    shipped = await services.orders.page(OrderFilter(shipping=frozenset({Shipping.SHIPPED})))
    assert shipped and all(order.shipping is Shipping.SHIPPED for order in shipped)
    moves = [
        Move(order.id, StatusKind.SHIPPING, Shipping.DELIVERED, carrier_event_id="x", at=clock())
        for order in shipped
        if order.delivery == "sandbox"
    ]
    results = await services.status.apply_batch(Actor.carrier("sandbox"), moves)
    assert all(r.applied for r in results)
    check_everything(db_path, services.settings, to_stored(clock()))


async def test_big_seeds_make_their_parts_in_worker_processes_with_the_same_result(
    tmp_path: Path, settings: Settings, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts of 500 orders: 25 parts in two staging files, each made by `python -m` in a
    worker process; when no worker can start, this thread makes them: the same shop."""
    monkeypatch.setattr(seed_module, "PART", 500)
    monkeypatch.setattr(seed_module.bulk, "MAX_STAGES", 3)  # parts share files
    dumps = []
    for name, python in (("worker", seed_module.sys.executable), ("here", "/no/such/python")):
        monkeypatch.setattr(seed_module.sys, "executable", python)
        path = tmp_path / f"{name}.db"
        services = await Services.open(path, settings, create=True, clock=clock)
        try:
            await services.agents.initialise("boss")
            await seed_database(services.db, settings, orders=12_500, clock=clock)
        finally:
            await services.close()
        dumps.append(dump(path))
        assert not list(tmp_path.glob(".codspot-seed-*")), "staging files are removed"
    assert dumps[0] == dumps[1]
    check_everything(tmp_path / "worker.db", settings, to_stored(clock()))
