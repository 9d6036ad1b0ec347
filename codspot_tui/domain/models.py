"""What the services hand out: plain, immutable read models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .rules import Mover
from .statuses import LOCAL_DELIVERY, Confirmation, Role, Shipping, StatusKind


def cents_to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as written in the audit: `agent:NAME`, `carrier:NAME`, `system`."""

    kind: str  # "agent" | "carrier" | "system"
    name: str = ""
    role: Role | None = None

    @classmethod
    def agent(cls, name: str, role: Role) -> Actor:
        return cls("agent", name, role)

    @classmethod
    def carrier(cls, name: str) -> Actor:
        return cls("carrier", name)

    @classmethod
    def system(cls) -> Actor:
        return cls("system")

    @property
    def label(self) -> str:
        return "system" if self.kind == "system" else f"{self.kind}:{self.name}"

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def mover_for(self, delivery: str, *, force: bool) -> Mover:
        """Which column of the tables this actor's move is checked against."""
        if self.kind == "carrier":
            return Mover.CARRIER
        if self.kind == "system":
            return Mover.SYSTEM
        if force:
            return Mover.FORCE
        return Mover.LOCAL_OPERATOR if delivery == LOCAL_DELIVERY else Mover.OPERATOR


@dataclass(frozen=True)
class Agent:
    name: str
    role: Role
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int
    on_hand: int
    low: int

    @property
    def is_low(self) -> bool:
        return self.on_hand <= self.low


@dataclass(frozen=True)
class StockMovement:
    sku: str
    delta: int
    reason: str
    order_ref: str | None
    actor: str
    note: str | None
    at: datetime


@dataclass(frozen=True)
class OrderItem:
    sku: str
    qty: int
    price_cents: int


@dataclass(frozen=True)
class StatusEvent:
    kind: StatusKind
    from_status: str | None
    to_status: str
    actor: str
    source: str
    note: str | None
    at: datetime
    carrier_event_id: str | None = None
    ignored: bool = False
    raw_status: str | None = None  # the carrier's own word, for carrier events


@dataclass(frozen=True)
class Order:
    id: int
    ref: str
    source: str
    created_at: datetime
    customer: str
    phone: str
    city: str
    address: str
    delivery: str
    note: str | None
    confirmation: Confirmation
    shipping: Shipping | None
    tracking: str | None
    sync: str | None
    attempts: int
    last_attempt_at: datetime | None
    callback_at: datetime | None
    assigned_to: str | None
    claimed_by: str | None
    claim_expires_at: datetime | None
    duplicate_of: str | None
    total_cents: int
    version: int
    updated_at: datetime
    items: tuple[OrderItem, ...] = ()
    events: tuple[StatusEvent, ...] = field(default=())

    def claimed_by_other(self, agent: str, now: datetime) -> bool:
        return (
            self.claimed_by is not None
            and self.claimed_by != agent
            and self.claim_expires_at is not None
            and self.claim_expires_at > now
        )


@dataclass(frozen=True)
class NewItem:
    product_id: int
    qty: int
    price_cents: int


@dataclass(frozen=True)
class NewOrder:
    """An order as a lead provider hands it over, checked and ready to store."""

    ref: str
    source: str
    created_at: datetime
    customer: str
    phone: str
    city: str
    address: str
    delivery: str
    note: str | None
    items: tuple[NewItem, ...]
    assigned_to: str | None = None
    duplicate_of: str | None = None

    @property
    def total_cents(self) -> int:
        return sum(item.qty * item.price_cents for item in self.items)
