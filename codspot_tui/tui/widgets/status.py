"""Statuses drawn in their theme colour: the `$status-NAME` variables each theme defines.

Textual's Content (not Rich's Text) is used because its styles can name theme variables.
"""

from __future__ import annotations

from textual.content import Content

from ...domain.models import Order


def status_text(status: str | None) -> Content:
    if status is None:
        return Content.styled("-", "dim")
    return Content.styled(status.replace("_", " "), f"bold $status-{status}")


def order_state(order: Order) -> Content:
    """`confirmed / shipped · pending sync` in colour: both statuses and the parcel's sync."""
    parts: list[Content | str | tuple[str, str]] = [status_text(order.confirmation.value)]
    if order.shipping is not None:
        parts += [" / ", status_text(order.shipping.value)]
    if order.sync == "pending":
        parts.append((" · pending sync", "italic"))
    elif order.sync == "failed":
        parts.append((" · sync failed", "bold $error"))
    return Content.assemble(*parts)
