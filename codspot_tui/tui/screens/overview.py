"""`4`: the overview. Confirmation, delivery and return rates, cash delivered and still to
collect, each agent's calls today, orders per day, and how each carrier connection is doing.

The KPI totals read every order (from an index, 0.15-0.3 s at a million orders), so a flood of
changes from other processes refreshes this screen at most every `RELOAD_EVERY` seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from time import monotonic

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Sparkline, Static

from ...domain.models import cents_to_decimal
from ...services.figures import AgentDay, DayCount, FiguresService
from ...services.kpi import Kpis
from ...services.parcels import CarrierHealth
from ..messages import DataChanged
from ..widgets.footer import KeysFooter
from ..widgets.header import CodspotHeader
from ..widgets.shown import assemble, cell, plain
from .base import CodspotScreen

CURRENCY = "MAD"
RELOAD_EVERY = 5.0  # seconds between two refreshes caused by other processes' changes
DAYS = 30


def money(cents: int) -> str:
    return f"{cents_to_decimal(cents):,.2f} {CURRENCY}"


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


Part = str | tuple[str, str]


def rates_text(kpis: Kpis) -> Content:
    parts: list[Part] = []
    for label, rate in (
        ("Confirmation", kpis.confirmation_rate),
        ("Delivery", kpis.delivery_rate),
        ("Return", kpis.return_rate),
    ):
        parts += ["\n" if parts else "", f"{label:<13}", (f"{percent(rate):>7}", "bold")]
    return Content.assemble(*parts)


def cash_text(kpis: Kpis) -> Content:
    delivered, pending = money(kpis.cash_delivered_cents), money(kpis.cash_pending_cents)
    width = max(len(delivered), len(pending))
    return Content.assemble(
        "Delivered   ",
        (f"{delivered:>{width}}", "bold $success"),
        "\nTo collect  ",
        (f"{pending:>{width}}", "bold"),
        "\nOrders      ",
        f"{kpis.orders:>{width - len(CURRENCY) - 1},}",
    )


def agents_table(days: list[AgentDay]) -> Table | Content:
    if not days:
        return Content.styled("No agent yet.", "$text-muted")
    table = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    table.add_column("Agent", no_wrap=True, overflow="ellipsis", max_width=16)
    for title in ("Calls", "Confirmed", "No answer", "Later", "Canceled/fake", "Rate"):
        table.add_column(title, justify="right", no_wrap=True)
    for day in days:
        table.add_row(*_agent_cells(day.agent, day))
    if len(days) > 1:
        total = AgentDay(
            "all",
            sum(d.calls for d in days),
            sum(d.confirmed for d in days),
            sum(d.no_answer for d in days),
            sum(d.call_later for d in days),
            sum(d.canceled_or_fake for d in days),
        )
        table.add_row(*_agent_cells("all", total), style="bold")
    return table


def _agent_cells(name: str, day: AgentDay) -> Iterable[Text]:
    yield cell(name)  # a plain string would be read as Rich markup
    for value in (day.calls, day.confirmed, day.no_answer, day.call_later, day.canceled_or_fake):
        yield Text(f"{value:,}")
    yield Text(percent(day.confirmation_rate))


def days_caption(days: list[DayCount]) -> Content:
    if not days:
        return Content("")
    return Content.assemble(
        ("today ", "bold"),
        (f"{days[-1].orders:,}", "bold"),
        f"\nmax   {max(d.orders for d in days):,}",
        (f"\nall   {sum(d.orders for d in days):,}", "$text-muted"),
    )


def when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    local = moment.astimezone()
    if local.date() == now.astimezone().date():
        return f"{local:%H:%M:%S}"
    return f"{local:%d/%m %H:%M}"


def carrier_state(carrier: CarrierHealth, now: datetime) -> Content:
    """How one carrier connection is doing: state, sync backlog, last error, unknown words."""
    parts: list[Part] = []
    if carrier.paused_until is not None and carrier.paused_until > now:
        parts.append((f"paused until {when(carrier.paused_until, now)}", "bold $error"))
    elif carrier.consecutive_failures:
        parts.append((f"failing x{carrier.consecutive_failures}", "bold $error"))
    elif carrier.last_success_at is not None:
        parts.append(("ok", "bold $success"))
    else:
        parts.append(("not reached yet", "$text-muted"))
    parts += [
        f"  last ok {when(carrier.last_success_at, now)}  pending sync ",
        (f"{carrier.pending_sync:,}", "bold"),
        "  failed ",
        (f"{carrier.failed_sync:,}", "bold $error" if carrier.failed_sync else "bold"),
    ]
    if carrier.last_error:
        parts += [
            (f"\nerror {when(carrier.last_error_at, now)}: ", "$text-muted"),
            (" ".join(carrier.last_error.split()), "$error"),
        ]
    if carrier.unmapped:
        more = len(carrier.unmapped) - 5
        shown = ", ".join(carrier.unmapped[:5]) + (f" and {more} more" if more > 0 else "")
        parts += [("\nunmapped statuses: ", "$text-muted"), (shown, "$warning")]
    return assemble(*parts)  # the carrier's words: its error, its statuses


class CarrierRow(Horizontal):
    """A carrier's name beside its state, so that long errors wrap under the state."""

    DEFAULT_CSS = """
    CarrierRow { height: auto; }
    CarrierRow > .carrier-name { width: auto; min-width: 10; padding-right: 2; text-style: bold; }
    CarrierRow > .carrier-state { width: 1fr; }
    """

    def __init__(self, name: str, state: Content) -> None:
        super().__init__()
        self.carrier = name
        self.state = state

    def compose(self) -> ComposeResult:
        yield Static(plain(self.carrier), classes="carrier-name")
        yield Static(self.state, classes="carrier-state")

    def show(self, state: Content) -> None:
        self.state = state
        self.query_one(".carrier-state", Static).update(state)


class OverviewScreen(CodspotScreen):
    HELP_TITLE = "Overview"
    BINDINGS = [Binding("r", "refresh_now", "Refresh", id="overview.refresh")]
    DEFAULT_CSS = """
    OverviewScreen #overview { height: 1fr; }
    OverviewScreen .panel {
        height: auto; border: round $primary; padding: 0 1;
    }
    OverviewScreen #top { height: auto; }
    OverviewScreen #rates { width: 1fr; min-width: 26; }
    OverviewScreen #cash { width: 2fr; }
    OverviewScreen #spark { width: 60; height: 3; margin-right: 1; }
    OverviewScreen.-roomy #spark { width: 90; height: 5; }
    OverviewScreen #days-caption { width: 1fr; }
    OverviewScreen .loading { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._loaded_at: float | None = None
        self._later: Timer | None = None
        self.days: list[DayCount] = []

    @property
    def figures(self) -> FiguresService:
        return FiguresService(self.services.db, self.services.clock)

    def compose(self) -> ComposeResult:
        yield CodspotHeader()
        with VerticalScroll(id="overview"):
            with Horizontal(id="top"):
                yield self._panel("rates", "Rates")
                yield self._panel("cash", f"Cash ({CURRENCY})")
            with Horizontal(id="days", classes="panel") as days:
                days.border_title = "Orders per day, last 30 days"
                yield Sparkline([], id="spark")
                yield Static("", id="days-caption")
            yield self._panel("agents", "Agents today")
            with Vertical(id="carriers", classes="panel") as carriers:
                carriers.border_title = "Carriers"
                yield Static("loading...", id="no-carrier", classes="loading")
        yield KeysFooter()

    @staticmethod
    def _panel(name: str, title: str) -> Static:
        panel = Static("loading...", id=name, classes="panel loading")
        panel.border_title = title
        return panel

    def on_mount(self) -> None:
        self.query_one("#overview").focus()  # arrows and page keys scroll it at 80x24

    # Loading ------------------------------------------------------------------------------

    def reload(self) -> None:
        if self._later is not None:
            self._later.stop()
            self._later = None
        self._loaded_at = monotonic()
        self.load_agents()
        self.load_carriers()
        self.load_days()
        self.load_kpis()

    def on_data_changed(self, message: DataChanged) -> None:
        # Replaces CodspotScreen's handler: other processes' changes come in bursts.
        message.prevent_default()
        if self._later is not None:
            return
        wait = 0.0 if self._loaded_at is None else self._loaded_at + RELOAD_EVERY - monotonic()
        if wait <= 0:
            self.reload()
        else:
            self._later = self.set_timer(wait, self.reload)

    def action_refresh_now(self) -> None:
        self.reload()

    @work(group="overview.kpis", exclusive=True, exit_on_error=False)
    async def load_kpis(self) -> None:
        kpis = await self.figures.kpis()
        self._fill("rates", rates_text(kpis))
        self._fill("cash", cash_text(kpis))

    @work(group="overview.agents", exclusive=True, exit_on_error=False)
    async def load_agents(self) -> None:
        figures = self.figures
        days = await figures.agents_today()
        self._fill("agents", agents_table(days))
        self.query_one(
            "#agents", Static
        ).border_title = f"Agents today, {figures.today():%a %d/%m} (since local midnight)"

    @work(group="overview.days", exclusive=True, exit_on_error=False)
    async def load_days(self) -> None:
        self.days = await self.figures.orders_per_day(DAYS)
        self.show_days()
        self.query_one("#days-caption", Static).update(days_caption(self.days))

    def show_days(self) -> None:
        # A sparkline draws one column per value at most: repeat each day to fill its width.
        repeat = 3 if self.has_class("-roomy") else 2
        self.query_one("#spark", Sparkline).data = [
            float(day.orders) for day in self.days for _ in range(repeat)
        ]

    def on_resize(self) -> None:
        roomy = self.size.width >= 110 and self.size.height >= 34
        if roomy != self.has_class("-roomy"):
            self.set_class(roomy, "-roomy")
            self.show_days()

    @work(group="overview.carriers", exclusive=True, exit_on_error=False)
    async def load_carriers(self) -> None:
        health = await self.services.parcels.health()
        now = self.services.clock()
        box = self.query_one("#carriers", Vertical)
        rows = list(box.query(CarrierRow))
        if [row.carrier for row in rows] == [carrier.carrier for carrier in health]:
            for row, carrier in zip(rows, health, strict=True):
                row.show(carrier_state(carrier, now))
        else:
            await box.remove_children(CarrierRow)
            await box.mount_all(CarrierRow(c.carrier, carrier_state(c, now)) for c in health)
        self._fill("no-carrier", Content.styled("No carrier configured.", "$text-muted"))
        self.query_one("#no-carrier").display = not health

    def _fill(self, name: str, content: Content | Table) -> None:
        panel = self.query_one(f"#{name}", Static)
        panel.remove_class("loading")
        panel.update(content)
