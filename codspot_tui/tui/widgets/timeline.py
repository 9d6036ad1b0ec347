"""An order's timeline: every status change, who made it, how and why (DESIGN §1, Audit)."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from ...domain.models import StatusEvent
from .shown import assemble


def local_time(moment: datetime) -> str:
    return f"{moment.astimezone():%d/%m %H:%M}"


def event_line(event: StatusEvent) -> Content:
    parts: list[Content | str | tuple[str, str]] = [
        (f"{local_time(event.at)}  ", "dim"),
        f"{(event.from_status or '-').replace('_', ' ')} > ",
        (event.to_status.replace("_", " "), f"bold $status-{event.to_status}"),
        (f"  {event.actor}", "italic"),
    ]
    if event.ignored:
        parts.append(("  (ignored)", "dim"))
    if event.raw_status:
        parts.append((f"  [{event.raw_status}]", "dim"))
    if event.note:
        parts.append((f"  {' '.join(event.note.split())}", "dim"))
    return assemble(*parts)


def timeline_text(events: tuple[StatusEvent, ...], *, newest_first: bool = True) -> Content:
    if not events:
        return Content.styled("no change yet", "dim")
    ordered = list(reversed(events)) if newest_first else list(events)
    return Content("\n").join(event_line(event) for event in ordered)


class Timeline(Static):
    """The timeline of one order; `show(events)` to fill it."""

    DEFAULT_CSS = "Timeline { height: auto; }"

    def show(self, events: tuple[StatusEvent, ...]) -> None:
        self.update(timeline_text(events))
