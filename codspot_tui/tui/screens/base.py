"""What every screen of the dashboard shares: the services, who is at the keyboard, and
reloading what it shows when the data changes (only the screen on show is told)."""

from __future__ import annotations

from typing import Protocol, cast

from textual import events, on
from textual.screen import Screen
from textual.worker import Worker

from ...domain.models import Actor
from ...services.bundle import Services
from ..messages import DataChanged


class Dashboard(Protocol):
    """What the screens need of the app that shows them (the app is `CodspotApp`)."""

    services: Services
    actor: Actor

    def report(self, error: BaseException) -> None: ...

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None: ...


class CodspotScreen(Screen[None]):
    HELP_TITLE = "Keys"
    _hidden = False  # suspended, and not shown since
    _ever_hidden = False

    def __init__(self) -> None:
        super().__init__()
        # When a screen Textual has not styled yet is shown, Textual parses every stylesheet
        # again and restyles every widget of the app, twice. Nothing changed since it last
        # did: this screen's widgets are styled as they mount, and after a theme change a
        # screen is restyled as usual when it next shows. Skipping it halves the time to
        # open a screen. (A private counter: if Textual renames it, screens open slowly.)
        self._css_update_count = self.app._css_update_count

    @property
    def codspot(self) -> Dashboard:
        return cast(Dashboard, self.app)

    @property
    def services(self) -> Services:
        return self.codspot.services

    @property
    def actor(self) -> Actor:
        return self.codspot.actor

    def reload(self) -> None:
        """Fetch again what is on screen (in a worker). Screens override this."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A screen's worker reports to the screen only (the message does not bubble): hand
        # failures to the app's one error handler, so that they become notifications.
        self.codspot.on_worker_state_changed(event)

    def on_data_changed(self, message: DataChanged) -> None:
        self.reload()

    @on(events.Mount)
    async def _load_on_mount(self, _: events.Mount) -> None:
        # Runs after a subclass's on_mount.
        try:
            await self.first_load()
        except Exception as error:  # as from a worker: shown, never a crash
            self.codspot.report(error)

    async def first_load(self) -> None:
        """Fetch what the screen shows first. By default in a worker, while the screen is
        laid out and painted; a screen that must not paint empty first awaits it here (a
        failure is then a notification, and the next change loads the screen)."""
        self.reload()

    def on_screen_suspend(self) -> None:
        self._hidden = self._ever_hidden = True

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # (Runs before Textual's own handler, which restyles every widget of the screen.)
        if not self._ever_hidden and self._css_update_count == self.app._css_update_count:
            # Showing for the first time: its widgets were styled as they mounted, by the
            # stylesheet as it still is. Restyling them all again cost the queue about 10 ms
            # of its first paint.
            event.refresh_styles = False
        # A screen that was hidden saw no changes: catch up as it comes back. (Not when it
        # first shows: the load its mount started is on its way.)
        if self._hidden:
            self._hidden = False
            self.reload()
