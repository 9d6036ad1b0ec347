"""Dashboard fixtures: the real app over a real SQLite file, in a fixed time zone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from codspot_tui.domain.models import Actor
from codspot_tui.services.bundle import Services
from codspot_tui.tui.app import CodspotApp


@pytest.fixture(autouse=True)
def utc_everywhere() -> Iterator[None]:
    """Times on screen are local: pin the zone so that tests and snapshots are stable."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def make_app(services: Services, actor: Actor, **options: object) -> CodspotApp:
    return CodspotApp(services, actor, watch_seconds=0.2, **options)  # type: ignore[arg-type]


async def settle(pilot: Pilot[None]) -> None:
    """Let every worker finish and the screen repaint: no sleeping on a guess."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()
