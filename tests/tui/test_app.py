"""The app around the screens: help, themes, remapped keys, the command palette."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from conftest import Shop
from textual.widgets import Static

from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Confirmation
from codspot_tui.services.bundle import Services
from codspot_tui.tui.app import CodspotApp
from codspot_tui.tui.screens.help import HelpScreen
from codspot_tui.tui.themes import STATUS_NAMES, load_themes
from codspot_tui.tui.widgets.footer import KeysFooter

from .conftest import make_app, settle


async def test_help_lists_the_screens_own_keys(services: Services, agent: Actor) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(w.render()) for w in app.screen.query(Static))
        for words in ("Confirm", "No answer", "Later", "Cancel", "Fake", "Skip", "Edit", "Quit"):
            assert words in text, words
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_digits_switch_screens(services: Services, agent: Actor) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        for key, mode in (("2", "shipping"), ("3", "stock"), ("4", "overview"), ("1", "queue")):
            await pilot.press(key)
            await settle(pilot)
            assert app.current_mode == mode
        assert app.screen is queue  # the very queue the app started on, its card kept


async def test_the_three_themes_ship_and_each_colours_every_status() -> None:
    from codspot_tui.tui.themes import builtin_theme_files

    loaded = load_themes(builtin_theme_files())
    assert loaded.problems == ()
    assert {t.name for t in loaded.themes} >= {"codspot-dark", "codspot-light", "codspot-contrast"}
    for theme in loaded.themes:
        assert {f"status-{name}" for name in STATUS_NAMES} <= set(theme.variables)
    contrast = next(t for t in loaded.themes if t.name == "codspot-contrast")
    # Readable in a 16-colour terminal: the contrast theme uses the ANSI colours only.
    assert all(value.startswith("ansi_") for value in contrast.variables.values())


async def test_theme_by_name_and_switching(services: Services, agent: Actor) -> None:
    app = make_app(services, agent, theme="codspot-light")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "codspot-light"
        app.theme = "codspot-contrast"
        await pilot.pause()
        assert app.current_theme.name == "codspot-contrast"


async def test_a_screen_first_opened_after_a_theme_switch_wears_that_theme(
    services: Services, agent: Actor
) -> None:
    """Screens skip Textual's restyling of the whole app when they first open: they must
    still be styled with the theme of the moment, as if the app had started with it."""

    async def colours(app: CodspotApp, switch_to: str | None, then: str = "") -> list[object]:
        """Every widget's colours on the screen `then` opens (the queue, without a key)."""
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            if switch_to:
                app.theme = switch_to
                await settle(pilot)
            if then:
                await pilot.press(then)
                await settle(pilot)
            return [
                (widget.styles.background, widget.styles.color) for widget in app.screen.query("*")
            ]

    for key in ("", "2"):  # the queue, the first screen; the board, opened afterwards
        switched = await colours(make_app(services, agent), "codspot-light", key)
        started = await colours(make_app(services, agent, theme="codspot-light"), None, key)
        assert switched == started
        dark = await colours(make_app(services, agent), None, key)
        assert dark != started


async def test_the_footer_shows_whole_keys_and_a_click_presses_one(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await shop.product("ARGAN", stock=5)
    await shop.order("Q1")
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeysFooter)
        line = footer.render().plain
        assert len(line) == 80 and line.endswith("| ^p palette ")
        shown = line.rsplit("|", 1)[0].split()
        assert shown[:4] == ["c", "Confirm", "n", "No"]
        assert "Help" in shown and "Quit" in shown  # 80 columns: whole keys, ? and q kept
        start = line.index(" n No answer ")
        await pilot.click(KeysFooter, offset=(start + 2, 0))
        await settle(pilot)
        assert (await services.orders.get(1)).confirmation is Confirmation.NO_ANSWER


async def test_a_broken_theme_is_reported_once_and_the_default_used(
    services: Services, agent: Actor, tmp_path: Path
) -> None:
    (tmp_path / "bad.toml").write_text('name = "bad"\nprimary = "not a colour"\n')
    (tmp_path / "mine.toml").write_text("this is not toml")
    app = make_app(services, agent, theme="bad", user_themes=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "codspot-dark"
        notes = [n.message for n in app._notifications]
        assert len(notes) == 1, notes
        assert "bad.toml" in notes[0] and "mine.toml" in notes[0]


async def test_keys_can_be_remapped_by_binding_id(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await shop.product("ARGAN", stock=5)
    await shop.order("Q1")
    services.settings = dataclasses.replace(services.settings, keys={"queue.confirm": "y"})
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert (await services.orders.get(1)).confirmation is Confirmation.NEW
        await pilot.press("y")
        await settle(pilot)
        assert (await services.orders.get(1)).confirmation is Confirmation.CONFIRMED


async def test_quitting_gives_the_claimed_order_back(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await shop.product("ARGAN", stock=5)
    await shop.order("Q1")
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert (await services.orders.get(1)).claimed_by == "karim"
        await pilot.press("q")
        await pilot.pause()
    assert (await services.orders.get(1)).claimed_by is None
