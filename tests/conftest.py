"""Shared fixtures: a real SQLite file per test, services built as the CLI builds them."""

from __future__ import annotations

import asyncio
import inspect
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from codspot_tui.domain.models import Actor, NewItem, NewOrder
from codspot_tui.domain.statuses import Role
from codspot_tui.services.bundle import Services
from codspot_tui.settings import Settings
from codspot_tui.store.orders import insert_order


def hypothesis_profile_for(environ: Mapping[str, str]) -> str:
    """CI (which sets CI=true) replays the same examples on every run: a red build is one that
    the next push reproduces, not a seed nobody can get back."""
    return "ci" if environ.get("CI", "").lower() not in ("", "0", "false") else "dev"


# Both from Hypothesis's own defaults, whatever it would pick by itself on CI. print_blob: a
# failure prints the @reproduce_failure line that replays it anywhere.
_BASE = hypothesis_settings.get_profile("default")
hypothesis_settings.register_profile("dev", parent=_BASE, print_blob=True)
hypothesis_settings.register_profile(
    "ci",
    parent=_BASE,
    derandomize=True,
    database=None,  # derandomised: nothing to remember between runs
    deadline=None,  # a shared runner's pauses are not bugs
    max_examples=100,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile(hypothesis_profile_for(os.environ))


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], what: str, *, timeout: float = 20.0
) -> None:
    """Wait for `condition` to hold instead of sleeping on a guess; fail naming `what` if it
    has not within `timeout` seconds (generous: the machine may be busy with other work)."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:g} s for {what}")
        await asyncio.sleep(0.02)


@contextmanager
def write_lock_held(db_path: Path) -> Iterator[None]:
    """Another program's transaction (an import, the sqlite3 shell) holds the database's write
    lock meanwhile: the lock SQLite really takes, not an error made up for the test. Readers
    go on (WAL); writers wait for their busy timeout, then give up."""
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


@dataclass
class FrozenClock:
    """A clock tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 28, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "codspot.db"


@pytest.fixture
async def services(
    db_path: Path, settings: Settings, clock: FrozenClock
) -> AsyncIterator[Services]:
    opened = await Services.open(db_path, settings, create=True, clock=clock)
    await opened.agents.initialise("boss")
    await opened.agents.add(Actor.agent("boss", Role.ADMIN), "karim", Role.AGENT)
    await opened.agents.add(Actor.agent("boss", Role.ADMIN), "salma", Role.AGENT)
    yield opened
    await opened.close()


@pytest.fixture
def admin() -> Actor:
    return Actor.agent("boss", Role.ADMIN)


@pytest.fixture
def agent() -> Actor:
    return Actor.agent("karim", Role.AGENT)


class Shop:
    """Makes products and orders the short way, straight through the store."""

    def __init__(self, services: Services, admin: Actor) -> None:
        self.services = services
        self.admin = admin
        self._count = 0

    async def product(self, sku: str, *, stock: int = 100, price: int = 10000, low: int = 0) -> int:
        await self.services.stock.add_product(
            self.admin, sku, sku.title(), price_cents=price, stock=stock, low=low
        )
        return int(await self.services.db.scalar("SELECT id FROM products WHERE sku = ?", (sku,)))

    async def order(
        self,
        ref: str | None = None,
        items: Sequence[tuple[str, int]] = (("ARGAN", 1),),
        *,
        delivery: str = "sandbox",
        phone: str | None = None,
        created_at: datetime | None = None,
        assigned_to: str | None = None,
    ) -> int:
        self._count += 1
        ref = ref or f"R{self._count:05d}"
        new_items = []
        for sku, qty in items:
            product_id = await self.services.db.scalar(
                "SELECT id FROM products WHERE sku = ?", (sku,)
            )
            if product_id is None:
                product_id = await self.product(sku)
            new_items.append(NewItem(product_id, qty, 10000))
        now = self.services.clock()
        order = NewOrder(
            ref=ref,
            source="test",
            created_at=created_at or now - timedelta(minutes=1000 - self._count),
            customer="Karima Alaoui",
            phone=phone or f"+2126{self._count:08d}",
            city="Casablanca",
            address="12 rue Ibn Battouta",
            delivery=delivery,
            note=None,
            items=tuple(new_items),
            assigned_to=assigned_to,
        )
        order_id = await self.services.db.write(lambda conn: insert_order(conn, order, now))
        assert order_id is not None
        return order_id


@pytest.fixture
def shop(services: Services, admin: Actor) -> Shop:
    return Shop(services, admin)


# Morocco's zone is UTC+1, and UTC+0 during Ramadan: a machine's zone that is not UTC, and
# whose offset changes during the year.
ZONES = ("UTC", "Africa/Casablanca")


@pytest.fixture(params=ZONES)
def machine_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The process's time zone (`TZ`) set to each of `ZONES` in turn, then restored: times
    typed or shown without a zone are in it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
