"""How the command line shows things: the JSON shapes of the contract, and plain text tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import phonenumbers

from .domain.models import Agent, Order, Product, StatusEvent, StockMovement, cents_to_decimal
from .domain.text import for_terminal
from .domain.times import to_stored
from .services.kpi import Kpis


def money(cents: int) -> float:
    return float(cents_to_decimal(cents))


def stamp(moment: datetime | None) -> str | None:
    return None if moment is None else to_stored(moment)


def order_json(order: Order, now: datetime, *, with_events: bool = False) -> dict[str, Any]:
    claimed = order.claimed_by if order.claim_expires_at and order.claim_expires_at > now else None
    shape: dict[str, Any] = {
        "ref": order.ref,
        "source": order.source,
        "created_at": stamp(order.created_at),
        "customer": order.customer,
        "phone": order.phone,
        "city": order.city,
        "address": order.address,
        "delivery": order.delivery,
        "note": order.note,
        "tracking": order.tracking,
        "confirmation": order.confirmation.value,
        "shipping": None if order.shipping is None else order.shipping.value,
        "sync": order.sync,
        "attempts": order.attempts,
        "last_attempt_at": stamp(order.last_attempt_at),
        "callback_at": stamp(order.callback_at),
        "assigned_to": order.assigned_to,
        "claimed_by": claimed,
        "duplicate_of": order.duplicate_of,
        "total": money(order.total_cents),
        "items": [
            {"sku": item.sku, "qty": item.qty, "price": money(item.price_cents)}
            for item in order.items
        ],
    }
    if with_events:
        shape["events"] = [event_json(event) for event in order.events]
    return shape


def event_json(event: StatusEvent) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "from": event.from_status,
        "to": event.to_status,
        "actor": event.actor,
        "source": event.source,
        "note": event.note,
        "at": stamp(event.at),
        "ignored": event.ignored,
    }


def product_json(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "on_hand": product.on_hand,
        "low": product.low,
        "price": money(product.price_cents),
    }


def movement_json(movement: StockMovement) -> dict[str, Any]:
    return {
        "sku": movement.sku,
        "delta": movement.delta,
        "reason": movement.reason,
        "order": movement.order_ref,
        "actor": movement.actor,
        "note": movement.note,
        "at": stamp(movement.at),
    }


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "role": agent.role.value,
        "active": agent.active,
        "created_at": stamp(agent.created_at),
    }


def kpi_json(kpis: Kpis) -> dict[str, Any]:
    return {
        "orders": kpis.orders,
        "confirmation_rate": kpis.confirmation_rate,
        "delivery_rate": kpis.delivery_rate,
        "return_rate": kpis.return_rate,
        "cash_delivered": money(kpis.cash_delivered_cents),
        "cash_pending": money(kpis.cash_pending_cents),
        "confirmation": kpis.by_confirmation,
        "shipping": kpis.by_shipping,
    }


def dialable(phone: str) -> str:
    """+212612345678 as a person dials it: +212 6-12 34 56 78."""
    try:
        parsed = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(isinstance(row[i], (int, float)) for row in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    # One line per row, whatever the field holds: a newline in an address must not break rows;
    # escaped here rather than when printed, so that the columns are measured as shown.
    return for_terminal(" ".join(str(value).split()))


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def order_text(order: Order, now: datetime) -> str:
    data = order_json(order, now, with_events=True)
    lines = [
        f"{order.ref}  ({order.source})  created {data['created_at']}",
        f"  customer   {order.customer}",
        f"  phone      {dialable(order.phone)}",
        f"  city       {order.city}",
        f"  address    {' '.join(order.address.split())}",
        f"  delivery   {order.delivery}"
        + (f"  tracking {order.tracking}" if order.tracking else ""),
        f"  status     {order.confirmation}"
        + (f" / shipping {order.shipping}" if order.shipping else "")
        + (f" ({order.sync})" if order.sync else ""),
        f"  attempts   {order.attempts}"
        + (f", callback {data['callback_at']}" if order.callback_at else ""),
    ]
    for key in ("assigned_to", "claimed_by", "duplicate_of"):
        if data[key]:
            lines.append(f"  {key.replace('_', ' '):<10} {data[key]}")
    if order.note:
        lines.append(f"  note       {' '.join(order.note.split())}")
    lines.append("  items")
    for item in order.items:
        lines.append(f"    {item.qty} x {item.sku} @ {money(item.price_cents):.2f}")
    lines.append(f"  total      {money(order.total_cents):.2f}")
    if order.events:
        lines.append("  timeline")
        for event in order.events:
            mark = " (ignored)" if event.ignored else ""
            note = f"  {' '.join(event.note.split())}" if event.note else ""
            lines.append(
                f"    {stamp(event.at)}  {event.kind}: {event.from_status or '-'} -> "
                f"{event.to_status}  by {event.actor} ({event.source}){mark}{note}"
            )
    return "\n".join(lines)
