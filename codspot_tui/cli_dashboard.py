"""The dashboard commands: `codspot tui` (also plain `codspot`) and `codspot demo`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

from . import cli_views
from .cli_session import Session, echo, opened_services, pass_session
from .domain.errors import DatabaseError
from .domain.models import Actor
from .domain.statuses import Shipping
from .services.bundle import Services
from .services.kpi import KpiService
from .settings import CarrierSettings, Settings, default_config_path, default_db_path
from .store.orders import OrderFilter

DEMO_ORDERS = 3000
DEMO_TOP_UP = 100  # a day of orders, for a demo shop left with no parcel to hand over
DEMO_SPEED = 3000.0  # an hour of a parcel's journey passes in a little over a second


@click.command()
@click.option("--theme", help="A theme's name (see the command palette, ctrl+p).")
@pass_session
def tui(session: Session, theme: str | None) -> None:
    """The dashboard."""

    async def life() -> None:
        async with opened_services(session.db_path, session.settings) as services:
            actor = await services.agents.identify(session.agent_name)
            await run_dashboard(services, actor, theme=theme)

    asyncio.run(life())


async def run_dashboard(
    services: Services, actor: Actor, *, theme: str | None, carriers: bool = False
) -> None:
    # Textual loads in a second or so: only the commands that draw the dashboard pay for it;
    # httpx and the adapters only when the demo runs a worker.
    from .tui.app import CodspotApp

    async with contextlib.AsyncExitStack() as stack:
        worker = None
        if carriers:
            from .carriers.registry import open_carriers
            from .carriers.worker import CarrierWorker

            # Its own connection: the dashboard notices another connection's commits (the
            # data_version it watches), never its own, so the parcels' moves show by themselves.
            worker_services = await stack.enter_async_context(
                opened_services(services.db.path, services.settings)
            )
            found = await stack.enter_async_context(open_carriers(services.settings))
            worker = CarrierWorker(worker_services.parcels, found, tick=1.0)
        app = CodspotApp(
            services,
            actor,
            theme=theme,
            user_themes=default_config_path().parent / "themes",
            carrier_worker=worker,
        )
        # What is loaded by now (the modules, the app) lives as long as the process: frozen
        # out of the collector's sight, the full collection that used to land in the first
        # frame (about 20 ms) walks only what comes after.
        gc.freeze()
        await app.run_async()


@click.command()
@click.option("--fresh", is_flag=True, help="Throw the demo database away and build it anew.")
@click.option("--tour", is_flag=True, help="Print a tour of the data instead of the dashboard.")
@click.option("--theme", help="A theme's name.")
@pass_session
def demo(session: Session, fresh: bool, tour: bool, theme: str | None) -> None:
    """A demo shop: realistic orders, the sandbox carrier and its worker, and the dashboard."""
    path = session.db_path if session.db_named else default_db_path().with_name("demo.db")
    if fresh:
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)

    async def build() -> None:
        async with opened_services(path, session.settings, create=True) as services:
            await build_demo(services, session.agent_name, tour=tour)

    asyncio.run(build())
    if tour:
        return
    with sandbox_carrier_process() as url:
        settings = demo_settings(session.settings, url)

        async def life() -> None:
            async with opened_services(path, settings) as services:
                actor = await services.agents.identify(session.agent_name)
                await run_dashboard(services, actor, theme=theme, carriers=True)

        asyncio.run(life())


async def build_demo(services: Services, agent_name: str, *, tour: bool) -> None:
    """The demo shop: built when empty, topped up when no parcel waits for the worker; with
    `tour`, a tour of it printed. What is built depends on the hour: `services.clock` says it
    (tests pass fixed ones)."""
    from .services.seed import seed_database

    path = services.db.path
    await services.agents.initialise(agent_name)
    orders = await services.db.scalar("SELECT count(*) FROM orders")
    if not orders:
        echo(f"Building the demo shop in {path} ...")
        count, days = DEMO_ORDERS, 21
    elif await services.parcels.next_job_at() is None:
        # The sandbox carrier starts afresh each time and knows none of the parcels handed
        # to it before; with none left to hand over, nothing would move. A day of new orders
        # brings the newest confirmations, still waiting for the worker (at any hour: the
        # seed counts working time back from now), which it hands over and follows.
        echo(f"Adding a day of orders to the demo shop in {path} ...")
        count, days = DEMO_TOP_UP, 1
    else:
        count = days = 0
    if count:
        await seed_database(
            services.db,
            services.settings,
            orders=count,
            days=days,
            seed=orders + 1,  # other names and phones each time
            clock=services.clock,
        )
    if tour:
        await _tour(services, await services.agents.identify(agent_name), path)


def demo_settings(settings: Settings, url: str) -> Settings:
    sandbox = CarrierSettings(
        name="sandbox",
        kind="sandbox",
        url=url,
        credentials={"token": "sandbox"},
        batch_size=50,
        rate_per_second=20.0,
        timeout=5.0,
        poll_interval=3.0,
    )
    return dataclasses.replace(settings, carriers={"sandbox": sandbox})


@contextlib.contextmanager
def sandbox_carrier_process() -> Iterator[str]:
    """The sandbox carrier in its own process on a free loopback port, for the demo."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codspot_tui",
            "sandbox-carrier",
            "--port",
            str(port),
            "--speed",
            str(DEMO_SPEED),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise DatabaseError("the sandbox carrier did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:  # not left running behind the demo
            process.kill()
            process.wait()


async def _tour(services: Services, actor: Actor, path: Path) -> None:
    """What a newcomer should see first: stock, figures, the queue, parcels on the road."""
    products = await services.stock.products()
    rows = [(p.sku, p.name, p.on_hand, "low" if p.is_low else "") for p in products]
    echo("\nStock\n" + cli_views.table(("sku", "name", "on_hand", ""), rows))
    figures = await KpiService(services.db).figures()
    echo(
        f"\n{figures.orders} orders: confirmation {cli_views.percent(figures.confirmation_rate)},"
        f" delivery {cli_views.percent(figures.delivery_rate)},"
        f" returns {cli_views.percent(figures.return_rate)};"
        f" cash delivered {cli_views.money(figures.cash_delivered_cents):,.2f},"
        f" still to collect {cli_views.money(figures.cash_pending_cents):,.2f}"
    )
    counts = await services.queue.counts()
    echo(
        f"\nConfirmation queue: {counts.due_callbacks} callbacks due, {counts.new} new,"
        f" {counts.no_answer} no answer ({counts.later_callbacks} callbacks later)"
    )
    queue = await services.queue.queue_page(actor, limit=5)
    calls = [
        (o.ref, o.customer, cli_views.dialable(o.phone), o.city, o.confirmation.value, o.attempts)
        for o in queue
    ]
    echo(cli_views.table(("ref", "customer", "phone", "city", "status", "attempts"), calls))
    on_road = await services.orders.page(
        OrderFilter(shipping=frozenset({Shipping.SHIPPED, Shipping.PACKAGE_ISSUE})), limit=5
    )
    parcels = [(o.ref, o.city, o.delivery, o.tracking, o.shipping) for o in on_road]
    echo(
        "\nOn the road\n"
        + cli_views.table(("ref", "city", "carrier", "tracking", "shipping"), parcels)
    )
    first = queue[0].ref if queue else "REF"
    echo(
        f"\nTry it (as {actor.name}, admin):\n"
        f"  export CODSPOT_DB={path}\n"
        f"  codspot orders next                      # claim the next call\n"
        f"  codspot orders set {first} --confirmation confirmed\n"
        f"  codspot orders show {first}\n"
        f"  codspot orders list --shipping shipped --limit 10\n"
        f"  codspot kpi --json"
    )
