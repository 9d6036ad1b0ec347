"""A database file others can read is said in the dashboard too: on stderr, the line is hidden
behind the dashboard's screen until it quits."""

from __future__ import annotations

from pathlib import Path

from conftest import FrozenClock

from codspot_tui.domain.models import Actor
from codspot_tui.services.bundle import Services
from codspot_tui.settings import Settings

from .conftest import make_app, settle


async def test_the_dashboard_warns_of_a_database_others_can_read(
    services: Services, db_path: Path, agent: Actor, clock: FrozenClock
) -> None:
    db_path.chmod(0o644)
    reopened = await Services.open(db_path, Settings(), clock=clock)
    try:
        app = make_app(reopened, agent)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            notes = [(n.title, n.message, n.severity) for n in app._notifications]
    finally:
        await reopened.close()
    assert notes == [
        (
            "Customer data",
            f"warning: {db_path} holds customer data and other users can open it (mode 644);"
            f" to fix: chmod 600 {db_path}",
            "warning",
        )
    ]


async def test_a_private_database_gets_no_warning(services: Services, agent: Actor) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app._notifications
