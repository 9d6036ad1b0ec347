"""Shared fixtures: a real SQLite file per test, services built as the CLI builds them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from codspot_tui.domain.models import Actor, NewItem, NewOrder
from codspot_tui.domain.statuses import Role
from codspot_tui.services.bundle import Services
from codspot_tui.settings import Settings
from codspot_tui.store.orders import insert_order


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
