"""The dashboard: modes for the four screens, global keys, themes, and watching the database.

The app only wires things: each screen lives in its own module and talks to the services it
is handed. Several operators run it at once on one SQLite file; each sees the others' moves
within a second or two because the app watches `PRAGMA data_version`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ..domain.errors import CodspotError
from ..domain.models import Actor
from ..domain.text import for_terminal
from ..services.bundle import Services
from .messages import DataChanged
from .screens.help import HelpScreen, key_lines
from .screens.queue import QueueScreen
from .textual_fixes import FIXED as _TEXTUAL_FIXED  # noqa: F401 (applied on import)
from .themes import (
    DEFAULT_THEME,
    STATUS_NAMES,
    LoadedThemes,
    builtin_theme_files,
    default_variables,
    load_themes,
    user_theme_files,
)
from .widgets.palette import Palette

if TYPE_CHECKING:  # the worker (and httpx) load only when the demo runs one
    from ..carriers.worker import CarrierWorker

WATCH_SECONDS = 1.0  # how often to look for other processes' commits (cheap: one pragma)


class _Later:
    """A screen whose module is imported once the first card is up (`load`), or when the
    screen is first opened if that comes sooner: the dashboard starts on the queue, and
    importing the other three screens and their widgets cost a tenth of its start."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def load(self) -> type[Screen[None]]:
        screen: type[Screen[None]] = getattr(import_module(self.module, __package__), self.name)
        return screen

    def __call__(self) -> Screen[None]:
        return self.load()()


SCREENS_BY_MODE: dict[str, tuple[str, Callable[[], Screen[None]]]] = {
    "queue": ("Confirmation queue", QueueScreen),
    "shipping": ("Shipping board", _Later(".screens.shipping", "ShippingScreen")),
    "stock": ("Stock", _Later(".screens.stock", "StockScreen")),
    "overview": ("Overview", _Later(".screens.overview", "OverviewScreen")),
}
FIRST_MODE = "queue"
LOAD_SCREENS_AFTER = 1.0  # seconds after start: the first card is up, the agent reads it


class CodspotApp(App[None]):
    TITLE = "codspot"
    # The queue is the app's default screen, so that it is the first screen composed and
    # painted (with a mode to switch to, Textual first shows a blank default screen, then
    # styles and lays out the queue a second time as it swaps them). A screen in MODES cannot
    # be the default one: the queue joins the modes once it is up, for `1` to come back to.
    DEFAULT_MODE = FIRST_MODE
    MODES = {mode: screen for mode, (_, screen) in SCREENS_BY_MODE.items() if mode != FIRST_MODE}
    BINDINGS = [
        Binding("1", "switch_mode('queue')", "Queue", id="app.queue"),
        Binding("2", "switch_mode('shipping')", "Shipping", id="app.shipping"),
        Binding("3", "switch_mode('stock')", "Stock", id="app.stock"),
        Binding("4", "switch_mode('overview')", "Overview", id="app.overview"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]
    CSS = "\n".join(
        f".status-{name} {{ color: $status-{name}; text-style: bold; }}" for name in STATUS_NAMES
    )

    def __init__(
        self,
        services: Services,
        actor: Actor,
        *,
        theme: str | None = None,
        user_themes: Path | None = None,
        carrier_worker: CarrierWorker | None = None,
        watch_seconds: float = WATCH_SECONDS,
    ) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.requested_theme = theme or services.settings.theme or DEFAULT_THEME
        self.user_themes = user_themes
        self.carrier_worker = carrier_worker
        self.watch_seconds = watch_seconds
        self._data_version: int | None = None
        self.sub_title = f"{actor.name} ({actor.role})"
        self.loaded_themes = self._load_themes()
        self._theme_problems = self._choose_theme()

    async def on_mount(self) -> None:
        self.add_mode(self.DEFAULT_MODE, QueueScreen)
        if self._theme_problems:
            self.notify(self._theme_problems, title="Themes", severity="warning", timeout=8)
        if self.services.db.too_open:
            # Said on stderr too, where the dashboard's screen hides it until it quits.
            self.notify(self.services.db.too_open, title="Customer data", severity="warning")
        if self.services.settings.keys:
            self.set_keymap(self.services.settings.keys)
        self._data_version = await self.services.db.data_version()
        self.set_interval(self.watch_seconds, self._look_for_changes)
        if self.carrier_worker is not None:
            self.run_worker(self._run_carriers(), group="carriers", exit_on_error=False)
        self.set_timer(LOAD_SCREENS_AFTER, self._load_screens)

    def get_default_screen(self) -> Screen[None]:
        return QueueScreen()  # the DEFAULT_MODE's screen (see there)

    def _load_screens(self) -> None:
        for _, screen in SCREENS_BY_MODE.values():
            if isinstance(screen, _Later):
                screen.load()

    def _load_themes(self) -> LoadedThemes:
        files = builtin_theme_files()
        if self.user_themes is not None:
            files += user_theme_files(self.user_themes)
        loaded = load_themes(files)
        for theme in loaded.themes:
            self.register_theme(theme)
        return loaded

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # The status colours exist before our themes are chosen (CSS is parsed early).
        return default_variables()

    def _choose_theme(self) -> str:
        """Set the theme before the first paint (set later, it restyles every widget again);
        what went wrong, for a notification once the app runs."""
        problems = list(self.loaded_themes.problems)
        if self.requested_theme not in self.available_themes:
            problems.append(f"no theme called {self.requested_theme!r}")
            self.requested_theme = DEFAULT_THEME
        self.theme = self.requested_theme
        return "\n".join(problems) + f"\nUsing {self.requested_theme}." if problems else ""

    async def _run_carriers(self) -> None:
        assert self.carrier_worker is not None
        stop = asyncio.Event()
        try:
            await self.carrier_worker.run(stop)
        finally:
            await self.carrier_worker.close()

    async def _look_for_changes(self) -> None:
        """Another process committed: tell the screen on show to reload what it shows."""
        version = await self.services.db.data_version()
        if version != self._data_version:
            self._data_version = version
            self.screen.post_message(DataChanged())

    def action_command_palette(self) -> None:
        if self.use_command_palette and not isinstance(self.screen, Palette):
            self.push_screen(Palette(id="--command-palette"))

    def action_help(self) -> None:
        title = getattr(self.screen, "HELP_TITLE", "Keys")
        self.push_screen(HelpScreen(title, key_lines(self.screen)))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, (title, _) in SCREENS_BY_MODE.items():
            yield SystemCommand(
                f"Go to {title}",
                f"Switch to the {title.lower()}",
                lambda mode=mode: self.switch_mode(mode),
            )
        for line in key_lines(screen):
            if not line.action.startswith("switch_mode"):
                yield SystemCommand(
                    line.description,
                    f"key {line.key}",
                    lambda action=line.action: self.run_action(action),
                )

    async def action_quit(self) -> None:
        # Leave no claim behind: the order goes back to the queue for the others at once.
        await self.services.queue.release(self.actor)
        self.exit()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification, from any screen, comes here. Its words may quote data (an
        order's ref, a carrier's error): shown escaped, and never read as markup (screens
        pass Textual's default, markup=True, without asking for it)."""
        super().notify(
            for_terminal(message),
            title=for_terminal(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed background job becomes a notification, never a crash."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report(event.worker.error)

    def report(self, error: BaseException) -> None:
        """A failure as a notification: the service's words, or what went wrong."""
        if isinstance(error, CodspotError):
            self.notify(str(error), severity="warning")
        else:
            self.notify(
                f"{type(error).__name__}: {error}",
                title="Unexpected error",
                severity="error",
                timeout=10,
            )
