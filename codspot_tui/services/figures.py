"""What the stock view and the overview show: stock on the road, agents' work today, orders
per day. Each figure is one grouped query (store.figures); "today" is the local day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ..domain.models import Product
from ..domain.statuses import Confirmation
from ..store import figures as q
from ..store.db import Database
from .clock import Clock, system_clock
from .kpi import Kpis, KpiService

AGENT_PREFIX = "agent:"


@dataclass(frozen=True)
class StockLine:
    product: Product
    units_out: int  # in confirmed orders whose parcel is still on its way to the customer
    units_back: int  # in parcels coming back (in return, or canceled and not received yet)


@dataclass(frozen=True)
class AgentDay:
    """One agent's confirmation moves since local midnight."""

    agent: str
    calls: int  # every outcome recorded: each one is a call made
    confirmed: int
    no_answer: int
    call_later: int
    canceled_or_fake: int

    @property
    def confirmation_rate(self) -> float | None:
        decided = self.confirmed + self.canceled_or_fake
        return None if decided == 0 else round(self.confirmed / decided, 4)


@dataclass(frozen=True)
class DayCount:
    day: date  # a local day
    orders: int


class FiguresService:
    def __init__(
        self, db: Database, clock: Clock = system_clock, *, tz: tzinfo | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.tz = tz  # None: the machine's local time zone, as the operator's clock shows

    async def kpis(self) -> Kpis:
        return await KpiService(self.db).figures()

    async def stock_lines(self) -> list[StockLine]:
        return [
            StockLine(
                Product(row["sku"], row["name"], row["price_cents"], row["on_hand"], row["low"]),
                row["units_out"],
                row["units_back"],
            )
            for row in await q.stock_figures(self.db)
        ]

    async def agents_today(self) -> list[AgentDay]:
        """Every active agent (and anyone else who worked today), by name."""
        since = self.day_start(self.today())
        counts: dict[str, dict[str, int]] = {
            name: {} for name in await q.active_agent_names(self.db)
        }
        for row in await q.confirmation_work_since(self.db, since):
            name = str(row["actor"]).removeprefix(AGENT_PREFIX)
            counts.setdefault(name, {})[row["to_status"]] = row["events"]
        return [
            AgentDay(
                agent=name,
                calls=sum(by_status.values()),
                confirmed=by_status.get(Confirmation.CONFIRMED, 0),
                no_answer=by_status.get(Confirmation.NO_ANSWER, 0),
                call_later=by_status.get(Confirmation.CALL_LATER, 0),
                canceled_or_fake=by_status.get(Confirmation.CANCELED, 0)
                + by_status.get(Confirmation.FAKE, 0),
            )
            for name, by_status in sorted(counts.items())
        ]

    async def orders_per_day(self, days: int = 30) -> list[DayCount]:
        """Orders created on each of the last `days` local days, oldest first, today last."""
        today = self.today()
        first = today - timedelta(days=days - 1)
        per_day = dict.fromkeys((first + timedelta(days=n) for n in range(days)), 0)
        for hour, count in await q.orders_per_hour_since(self.db, self.day_start(first)):
            day = self._local(datetime.fromisoformat(f"{hour}:00:00+00:00")).date()
            if day in per_day:  # an order dated in the future is nobody's day yet
                per_day[day] += count
        return [DayCount(day, count) for day, count in per_day.items()]

    def today(self) -> date:
        return self._local(self.clock()).date()

    def day_start(self, day: date) -> datetime:
        """Local midnight of `day`, in UTC."""
        if self.tz is not None:
            return datetime.combine(day, time(), tzinfo=self.tz).astimezone(UTC)
        # A naive time is read as the machine's local time, with its summer time rules.
        return datetime.combine(day, time()).astimezone(UTC)

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz) if self.tz is not None else moment.astimezone()
