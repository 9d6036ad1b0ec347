"""The footer and the help screen on a small window: the way to help and the way out always
show, the rest by importance, and `?` lists every key under its group."""

from __future__ import annotations

import pytest
from conftest import Shop
from textual.widgets import Static

from codspot_tui.domain.models import Actor
from codspot_tui.services.bundle import Services
from codspot_tui.tui.app import CodspotApp
from codspot_tui.tui.screens.help import HelpScreen
from codspot_tui.tui.widgets.footer import KeysFooter

from .conftest import make_app, settle

SIZES = [(80, 24), (120, 40)]
# Each screen's key, and its own keys in the order they are declared.
SCREENS = {
    "1": ["c Confirm", "n No answer", "l Later", "x Cancel", "f Fake", "s Skip", "e Edit"],
    "2": ["enter Open", "space Mark", "m Move", "/ Filter", "r Poll now"],
    "3": ["enter Ledger", "a Adjust", "/ Filter"],
    "4": ["r Refresh"],
}
BETWEEN = ["1 Queue", "2 Shipping", "3 Stock", "4 Overview"]


def footer_line(app: CodspotApp) -> str:
    return app.screen.query_one(KeysFooter).render().plain


def footer_keys(line: str) -> list[str]:
    """The keys left of the palette's, as 'key Description' (split on the double spaces)."""
    return [key.strip() for key in line.rsplit("|", 1)[0].split("  ") if key.strip()]


@pytest.fixture
async def an_order(shop: Shop) -> None:
    await shop.product("ARGAN", stock=5)
    await shop.order("Q1")


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
async def test_the_footer_keeps_help_and_quit_and_drops_the_least_important_keys(
    services: Services, agent: Actor, an_order: None, size: tuple[int, int]
) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for screen_key, own_keys in SCREENS.items():
            await pilot.press(screen_key)
            await settle(pilot)
            line = footer_line(app)
            assert len(line) == size[0] and line.endswith("| ^p palette "), line
            shown = footer_keys(line)
            assert shown[-2:] == ["? Help", "q Quit"], (screen_key, line)
            others = shown[:-2]
            everything = own_keys + BETWEEN
            if others[-1] == "…":  # some left out: the last ones by importance, none between
                others.pop()
                assert len(others) < len(everything), line
            else:
                assert len(others) == len(everything), line
            assert others == everything[: len(others)], (screen_key, line)


async def test_at_80_columns_the_queue_shows_its_first_keys_then_help_and_quit(
    services: Services, agent: Actor, an_order: None
) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = footer_keys(footer_line(app))
        assert shown == ["c Confirm", "n No answer", "l Later", "x Cancel", "…", "? Help", "q Quit"]


async def test_clicking_help_and_quit_in_the_footer_presses_them(
    services: Services, agent: Actor, an_order: None
) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        line = footer_line(app)
        await pilot.click(KeysFooter, offset=(line.index(" ? Help ") + 1, 0))
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.click(KeysFooter, offset=(line.index(" q Quit ") + 3, 0))
        await settle(pilot)
    assert app.return_code == 0
    assert (await services.orders.get(1)).claimed_by is None  # quit the app's way


def help_lines(app: CodspotApp) -> list[str]:
    assert isinstance(app.screen, HelpScreen)
    text = "\n".join(str(static.render()) for static in app.screen.query(Static))
    return [line.strip() for line in text.splitlines()]


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
async def test_help_groups_the_keys_under_titles(
    services: Services, agent: Actor, an_order: None, size: tuple[int, int]
) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for screen_key, own_keys in SCREENS.items():
            await pilot.press(screen_key)
            await settle(pilot)
            await pilot.press("question_mark")
            await settle(pilot)
            lines = help_lines(app)
            titles = ["This screen", "Moving between screens", "App"]
            assert [line for line in lines if line in titles] == titles
            mine, between, rest = (
                lines[lines.index(title) + 1 : lines.index(after) if after else None]
                for title, after in zip(titles, [*titles[1:], None], strict=True)
            )
            # The screen's own keys first, in their order (then moving in a list, focus...).
            assert [" ".join(line.split()) for line in mine[: len(own_keys)]] == own_keys
            assert [" ".join(line.split()) for line in between if line] == BETWEEN
            # `q` as well as Textual's ctrl+q, on one line.
            assert [" ".join(line.split()) for line in rest][:2] == ["? Help", "q, ^q Quit"]
            await pilot.press("q")  # closes the help, not the app
            await settle(pilot)
            assert not isinstance(app.screen, HelpScreen)
            assert app.is_running
