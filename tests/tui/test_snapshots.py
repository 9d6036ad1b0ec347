"""Each screen at 80x24 and 120x40, as SVG snapshots of a fixed demo shop at a fixed time.

Update them on purpose with `pytest tests/tui/test_snapshots.py --snapshot-update`, then look
at the pictures before committing them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FrozenClock
from textual.pilot import Pilot

from codspot_tui.domain.models import Actor
from codspot_tui.services.bundle import Services
from codspot_tui.services.seed import seed_database
from codspot_tui.settings import Settings
from codspot_tui.tui.app import CodspotApp

from .conftest import make_app, settle

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
SCREENS = {"queue": "1", "shipping": "2", "stock": "3", "overview": "4"}


@pytest.fixture
async def shop(tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[Services, Actor]]:
    services = await Services.open(tmp_path / "shop.db", Settings(), create=True, clock=clock)
    await services.agents.initialise("boss")
    await seed_database(services.db, services.settings, orders=400, days=14, seed=7, clock=clock)
    yield services, await services.agents.identify("boss")
    await services.close()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(snap_compare, shop: tuple[Services, Actor], screen: str, size: str) -> None:  # type: ignore[no-untyped-def]
    services, actor = shop

    async def go_there(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press(SCREENS[screen])
        await settle(pilot)
        pilot.app.clear_notifications()
        await settle(pilot)

    app = make_app(services, actor)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=go_there)


def drawable(char: str) -> bool:
    """In the fonts of the terminals people reach a VPS with (xterm's, PuTTY's, Windows
    Terminal's, macOS Terminal's): ASCII, Latin-1 (names, cities), the box-drawing and block
    characters that borders, digits and sparklines are made of, and three of the Windows
    Glyph List 4 that every terminal font covers: the header's dash and icon, an ellipsis."""
    code = ord(char)
    return code < 0x7F or 0xA0 <= code <= 0xFF or 0x2500 <= code <= 0x259F or char in "—≡…"


def undrawable(app: CodspotApp) -> list[str]:
    svg = app.export_screenshot()
    drawn = html.unescape("".join(re.findall(r">([^<]*)</text>", svg)))
    assert drawn.strip()
    return sorted({c for c in drawn if not drawable(c)})


# Each screen, then what its keys open (escape closes each): dialogs and screens, and the
# panels that open in place (the board's filter, a product's ledger).
DIALOGS = {
    "queue": ("ctrl+p", "question_mark", "l", "x", "e"),
    "shipping": ("enter", "m", "slash"),
    "stock": ("enter", "a"),
    "overview": ("ctrl+p",),
}
IN_PLACE = {("shipping", "slash"), ("stock", "enter")}


@pytest.mark.parametrize("screen", SCREENS)
async def test_screens_draw_only_what_common_terminals_have(
    shop: tuple[Services, Actor], screen: str
) -> None:
    services, actor = shop
    app = make_app(services, actor)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(SCREENS[screen])
        await settle(pilot)
        assert undrawable(app) == [], screen
        for key in DIALOGS[screen]:
            shown = app.screen
            await pilot.press(key)
            await settle(pilot)
            assert (app.screen is not shown) != ((screen, key) in IN_PLACE), key
            assert undrawable(app) == [], f"{screen}, {key}"
            await pilot.press("escape")
            await settle(pilot)
