"""Every service over one database, built once by whoever starts the process (CLI, tests)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings
from ..store.db import Database
from .agents import AgentService
from .clock import Clock, system_clock
from .orders import OrderService
from .queue import QueueService
from .status import StatusService
from .stock import StockService

if TYPE_CHECKING:
    from .parcels import ParcelService


@dataclass
class Services:
    db: Database
    settings: Settings
    clock: Clock
    agents: AgentService
    stock: StockService
    status: StatusService
    queue: QueueService
    orders: OrderService

    @classmethod
    def over(cls, db: Database, settings: Settings, clock: Clock = system_clock) -> Services:
        status = StatusService(db, settings, clock)
        return cls(
            db=db,
            settings=settings,
            clock=clock,
            agents=AgentService(db, clock),
            stock=StockService(db, clock),
            status=status,
            queue=QueueService(db, settings, clock),
            orders=OrderService(db, settings, clock),
        )

    @classmethod
    async def open(
        cls,
        path: Path,
        settings: Settings,
        *,
        create: bool = False,
        clock: Clock = system_clock,
    ) -> Services:
        db = await Database.open(
            path,
            create=create,
            busy_timeout_ms=settings.busy_timeout_ms,
            share_group=settings.share_group,
        )
        return cls.over(db, settings, clock)

    @cached_property
    def parcels(self) -> ParcelService:
        # The carrier side loads only for what uses it (the worker, carrier health): the
        # dashboard's start does without it.
        from .parcels import ParcelService

        return ParcelService(self.db, self.settings, self.status, self.clock)

    async def close(self) -> None:
        await self.db.close()
