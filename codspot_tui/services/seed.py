"""Synthetic data for the demo and the benchmarks: a Moroccan COD shop's last few weeks.

`seed_database` adds products (stocked by the admin), a few agents and orders whose lives
(`seed_lives`) obey the same tables and write the same rows as `StatusService` would have.
The result is deterministic for a given seed, clock and starting database.

A million orders must take under a minute, so orders are made in parts of `PART`, each
with its own random stream, written to staging files by worker processes, and copied into
the database in one transaction (`store.bulk`) by this thread, file by file as they are
done. The write lock is taken once the first file is ready; if another writer added orders,
products or agents meanwhile, the seed is refused rather than merged.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import random
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import cache
from itertools import accumulate, pairwise
from pathlib import Path

import phonenumbers

from ..domain.errors import Refused
from ..domain.models import Actor
from ..domain.statuses import Role
from ..settings import Settings
from ..store import bulk
from ..store.db import Database
from . import seed_data as words
from . import seed_lives
from .clock import Clock, system_clock
from .seed_journeys import CLOSING, DAY, OPENING, working_time_back
from .seed_lives import REF_PREFIX, SOURCE, Part, Staged, TimeText, World, stage_parts

PART = 100_000  # orders per random stream; fixed, so the data never depends on the machine
# Processes staging at once while this thread copies: with two cores, both stay busy (with
# one worker and this thread staging too, a core idled while this thread copied: 6-10 s).
WORKERS = 2
# Sizes the working time whose confirmations still wait for the worker. Seeded every half
# hour of a day, the demo then had 16 to 48 waiting (29 on average), its one-day top-up 6 to
# 30 (17); `tests/test_demo_hours.py` pins a few of those hours.
PENDING_CONFIRMATIONS = 36


@dataclass(frozen=True)
class SeedReport:
    orders: int
    products: int
    agents: tuple[str, ...]  # agent names the seed created or reused


async def seed_database(
    db: Database,
    settings: Settings,
    *,
    orders: int,
    products: int = 12,
    days: int = 30,
    seed: int = 1,
    clock: Clock = system_clock,
) -> SeedReport:
    """Fill `db` with `orders` orders created over the last `days` days; same seed, same data.

    The database must be initialised (it has an admin). Agents and products of the same
    names are reused; refs continue after the highest seed ref already there.
    """
    if orders < 0 or products < 1 or days < 1:
        raise ValueError("orders must be 0 or more, products and days 1 or more")
    now = int(clock().timestamp())
    return await asyncio.to_thread(
        _seed, db.path, db.busy_timeout_ms, settings, orders, products, days, seed, now
    )


def _seed(
    path: Path,
    busy_timeout_ms: int,
    settings: Settings,
    count: int,
    product_count: int,
    days: int,
    seed: int,
    now: int,
) -> SeedReport:
    rng = random.Random(seed)
    start = now - days * DAY
    text = TimeText(start - 10 * DAY, now)
    parts = [
        Part(index, first, min(PART, count - first))
        for index, first in enumerate(range(0, count, PART))
    ]
    # Workers take the files in turns; this thread copies each file once it is complete. A
    # seed of one part is staged here: starting a process would cost more than it saves.
    groups = _groups(parts)
    files = [_stage_file(path.parent) for _ in groups]
    # The pages the copy keeps coming back to (the ends of tables and indexes) fit in 256 MB;
    # a cache the size of the whole seed only made the process bigger (1.4 GB at a million
    # orders, no faster).
    conn = bulk.connect(path, busy_timeout_ms, cache_mb=min(256, max(64, count // 800)))
    workers: list[_Worker] = []
    try:
        # Read, stage without holding the write lock, then write if nothing moved meanwhile.
        with bulk.read_transaction(conn):
            existing = bulk.existing_data(conn, SOURCE, REF_PREFIX)
        agents, new_agents = _agents(existing, rng, text(start - 3 * DAY))
        catalogue, new_products = _products(existing, product_count, text(start - 2 * DAY))
        world = _world(rng, settings, existing, now, start, count, agents, catalogue)
        if len(groups) > 1:
            workers = [
                _Worker(world, groups[first::WORKERS], files[first::WORKERS])
                for first in range(min(WORKERS, len(groups)))
            ]

        def stage(index: int) -> Staged:
            if not workers:
                return stage_parts(world, groups[index], files[index])
            return workers[index % len(workers)].staged(index // len(workers))

        staged = [stage(0)]
        with bulk.write_transaction(conn):
            if bulk.existing_data(conn, SOURCE, REF_PREFIX) != existing:
                raise Refused("the database changed while seeding it: run the seed again")
            bulk.insert_agents(conn, new_agents)
            bulk.insert_products(conn, new_products)
            # Bigger than what is there: build the scattered indexes once rather than row by row.
            indexes = bulk.drop_indexes(conn) if count > max(existing.orders, 10_000) else []
            bulk.copy_stage(conn, 0, files[0])
            for index, file in enumerate(files[1:], start=1):
                staged.append(stage(index))
                bulk.copy_stage(conn, index, file)
            _stock(conn, rng, existing, catalogue, staged, text(start - 2 * DAY))
            bulk.copy_movements(conn, len(files))
            bulk.create_indexes(conn, indexes)
        bulk.detach_stages(conn, len(files))
        bulk.checkpoint(conn)
    finally:
        for worker in workers:
            worker.close()
        conn.close()
        for file in files:
            file.unlink(missing_ok=True)
    return SeedReport(count, len(catalogue), tuple(name for name, _ in agents))


def _groups(parts: list[Part]) -> list[list[Part]]:
    """Consecutive parts, one group per staging file; small ones first so that the copy
    starts early, and as many files for each worker so that they finish together."""
    if not parts:
        return [[]]  # a seed of no orders still adds its products and agents
    files = min(len(parts), bulk.MAX_STAGES)
    if files > WORKERS:
        files -= files % WORKERS
    small, bigger = divmod(len(parts), files)
    sizes = [small] * (files - bigger) + [small + 1] * bigger
    starts = [0, *accumulate(sizes)]
    return [parts[start:end] for start, end in pairwise(starts)]


def _agents(
    existing: bulk.ExistingData, rng: random.Random, at: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """3 to 5 active agents as (name, audit label), and the rows of those to create."""
    wanted = rng.randint(3, 5)
    chosen: list[str] = []
    new: list[tuple[str, str, str]] = []
    for name in words.AGENT_NAMES:
        if len(chosen) == wanted:
            break
        if name not in existing.agents:
            new.append((name, Role.AGENT.value, at))
        elif not existing.agents[name]:
            continue  # an agent who left: no orders go to them
        chosen.append(name)
    return [(name, Actor.agent(name, Role.AGENT).label) for name in chosen], new


@dataclass(frozen=True)
class _Product:
    id: int
    price_cents: int
    popularity: int
    new: bool


def _products(
    existing: bulk.ExistingData, count: int, at: str
) -> tuple[list[_Product], list[bulk.ProductRow]]:
    """`count` products of the catalogue (numbered variants beyond it), and the rows of those
    to create; SKUs already there are reused."""
    found: list[_Product] = []
    new: list[bulk.ProductRow] = []
    next_id = existing.last_product_id + 1
    for index in range(count):
        sku, name, price_mad, popularity, low = words.CATALOGUE[index % len(words.CATALOGUE)]
        if index >= len(words.CATALOGUE):
            variant = index // len(words.CATALOGUE) + 1
            sku, name = f"{sku}-V{variant}", f"{name} (modèle {variant})"
        if sku in existing.products:
            product_id, price = existing.products[sku]
            found.append(_Product(product_id, price, popularity, new=False))
        else:
            new.append((next_id, sku, name, price_mad * 100, low, at))
            found.append(_Product(next_id, price_mad * 100, popularity, new=True))
            next_id += 1
    return found, new


def _world(
    rng: random.Random,
    settings: Settings,
    existing: bulk.ExistingData,
    now: int,
    start: int,
    count: int,
    agents: list[tuple[str, str]],
    catalogue: list[_Product],
) -> World:
    carrier = next(iter(settings.carriers), None)
    kind = settings.carriers[carrier].kind if carrier else ""
    phones = _mobile_prefixes()
    space = len(phones) * 1_000_000
    # The worker syncs a parcel within minutes; the carrier's API has been slow for the last
    # while, so the newest confirmations still wait (`created · pending sync`) and the demo
    # has parcels to hand over. That while is working time: at night the newest confirmations
    # are yesterday evening's, and a wall-clock window would hold none.
    working = max((now - start) * (CLOSING - OPENING) // DAY, 1)
    confirmations_per_second = max(count, 1) * 0.6 / working
    waiting = max(20 * 60, int(PENDING_CONFIRMATIONS / confirmations_per_second))
    quarters = [
        tuple(_address(rng, quarters) for _ in range(256)) for _, _, quarters in words.CITIES
    ]
    return World(
        seed=rng.randrange(2**32),
        now=now,
        start=start,
        count=count,
        first_id=existing.last_order_id + 1,
        first_number=existing.last_ref_number + 1,
        agents=tuple(agents),
        products=tuple((p.id, p.price_cents, p.popularity) for p in catalogue),
        carrier=carrier,
        tracking_prefix="SBX" if kind == "sandbox" else (carrier or "")[:3].upper(),
        max_attempts=settings.max_attempts,
        pending_after=working_time_back(now, waiting),
        names=tuple(
            f"{first} {last}"
            for first in words.MALE_NAMES + words.FEMALE_NAMES
            for last in words.FAMILY_NAMES
        ),
        cities=tuple(city for city, _, _ in words.CITIES),
        city_weights=tuple(accumulate(weight for _, weight, _ in words.CITIES)),
        addresses=tuple(quarters),
        notes=(words.ORDER_NOTES, words.CALL_LATER_NOTES, words.CANCEL_NOTES, words.FAKE_NOTES),
        phone_prefixes=phones,
        phone_a=next(
            a for a in range(rng.randrange(space // 3, space), space) if _coprime(a, space)
        ),
        phone_b=rng.randrange(space),
        tracking_b=rng.randrange(10**10),
    )


def _address(rng: random.Random, quarters: tuple[str, ...]) -> str:
    quarter, street, shape = rng.choice(quarters), rng.choice(words.STREETS), rng.random()
    if shape < 0.55:
        return f"{rng.randint(1, 240)} {street}, {quarter}"
    if shape < 0.8:
        building = rng.choice(words.BUILDINGS)
        return f"{building}, imm. {rng.randint(1, 40)} appt {rng.randint(1, 24)}, {quarter}"
    return f"{rng.randint(1, 120)} {street}, étage {rng.randint(1, 6)}, {quarter}"


class _Worker:
    """Stages groups of parts in a fresh interpreter: `python -m ...seed_lives JOB`.

    A plain subprocess, not `multiprocessing`: it never re-imports the caller's main module,
    and forking a process that runs an event loop and database threads would be unsafe. It
    prints one line per staged group. If it can't start or fails, this thread stages the
    rest itself: the same parts, so the same data (and a failure of ours shows here again,
    with its traceback).
    """

    def __init__(self, world: World, groups: list[list[Part]], files: list[Path]) -> None:
        self.world, self.groups, self.files = world, groups, files
        self.job = files[0].with_suffix(".job")
        self.job.write_bytes(pickle.dumps((world, groups, files)))
        self.process: subprocess.Popen[bytes] | None
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", seed_lives.__name__, str(self.job)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": _import_path()},
            )
        except OSError:
            self.process = None

    def staged(self, index: int) -> Staged:
        """Group `index`'s counts, once its file is complete."""
        if self.process is not None and self.process.stdout is not None:
            line = self.process.stdout.readline()
            if line:
                taken, returned = json.loads(line)
                return Staged(_counter(taken), _counter(returned))
            self.close()
        return stage_parts(self.world, self.groups[index], self.files[index])

    def close(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
        self.job.unlink(missing_ok=True)


def _counter(counts: dict[str, int]) -> Counter[int]:
    return Counter({int(key): value for key, value in counts.items()})


def _import_path() -> str:
    """PYTHONPATH for the worker: where this package was imported from, first."""
    root = str(Path(seed_lives.__file__).resolve().parents[2])
    return os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)


def _stage_file(folder: Path) -> Path:
    handle, name = tempfile.mkstemp(prefix=".codspot-seed-", suffix=".sqlite3", dir=folder)
    os.close(handle)
    return Path(name)


def _stock(
    conn: sqlite3.Connection,
    rng: random.Random,
    existing: bulk.ExistingData,
    catalogue: list[_Product],
    staged: list[Staged],
    at: str,
) -> None:
    """Stock the shelves before the first order: every confirmation's units plus a margin
    (so on hand never goes below zero), and mark a few products low for the stock view."""
    admin = Actor.agent(existing.admin, Role.ADMIN).label if existing.admin else "system"
    taken = sum((s.taken for s in staged), Counter[int]())
    returned = sum((s.returned for s in staged), Counter[int]())
    restock = [(p.id, taken[p.id] + rng.randint(20, 400)) for p in catalogue]
    bulk.insert_restock(conn, restock, admin, "initial stock", at)
    on_hand = {
        product_id: units - taken[product_id] + returned[product_id]
        for product_id, units in restock
    }
    bulk.add_on_hand(conn, list(on_hand.items()))
    bulk.set_low_marks(
        conn,
        [
            (p.id, on_hand[p.id] + rng.randint(1, 20))
            for index, p in enumerate(catalogue)
            if p.new and index % 5 == 4
        ],
    )


@cache
def _mobile_prefixes() -> tuple[str, ...]:
    """Moroccan mobile prefixes (6xx, 7xx) that phonenumbers accepts whatever follows."""
    found = []
    for prefix in range(600, 800):
        numbers = (f"+212{prefix}000000", f"+212{prefix}999999", f"+212{prefix}481526")
        if all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in numbers):
            found.append(str(prefix))
    return tuple(found)


def _coprime(a: int, b: int) -> bool:
    while b:
        a, b = b, a % b
    return a == 1
