"""Commands for the carrier side: the worker, the sandbox carrier, carrier health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

import click

from . import cli_views
from .cli_session import Session, echo, emit_json, json_option, opened_services, pass_session
from .domain.models import Actor
from .domain.text import for_terminal
from .services.bundle import Services

if TYPE_CHECKING:  # httpx and the adapters load only for the commands that call carriers
    from .carriers.worker import CarrierWorker

# After SIGTERM the batch in hand may finish; a carrier call that hangs is cut off here.
STOP_GRACE_SECONDS = 5.0


class TerminalFormatter(logging.Formatter):
    """Log lines as a terminal (or journalctl) may show them: a carrier's words may hold
    control characters."""

    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(super().format(record))


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        TerminalFormatter("%(asctime)s %(levelname)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # httpx logs every URL at INFO, and some carriers carry their keys in the path.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


@click.group()
def carriers() -> None:
    """Carrier connections and their health."""


@carriers.command("status")
@json_option
@pass_session
def carriers_status(session: Session, as_json: bool) -> None:
    """Per carrier: last success, last error, parcels waiting to be created, unmapped words."""

    async def action(services: Services, actor: Actor) -> Any:
        return await services.parcels.health()

    report = session.run(action)
    shaped = [
        {
            "carrier": h.carrier,
            "last_success_at": cli_views.stamp(h.last_success_at),
            "last_error": h.last_error,
            "last_error_at": cli_views.stamp(h.last_error_at),
            "pending_sync": h.pending_sync,
            "failed_sync": h.failed_sync,
            "unmapped": list(h.unmapped),
        }
        for h in report
    ]
    if as_json:
        emit_json(shaped)
        return
    rows = [
        (
            s["carrier"],
            s["last_success_at"],
            s["pending_sync"],
            s["failed_sync"],
            ", ".join(s["unmapped"]) or None,
            s["last_error"],
        )
        for s in shaped
    ]
    echo(
        cli_views.table(
            ("carrier", "last success", "pending", "failed", "unmapped", "last error"), rows
        )
    )


@click.command()
@click.option(
    "--once", is_flag=True, help="One outbox drain and one poll of what is due, then exit."
)
@pass_session
def worker(session: Session, once: bool) -> None:
    """Create parcels for confirmed orders and follow every parcel (headless)."""
    from .carriers.registry import open_carriers
    from .carriers.worker import CarrierWorker
    from .carriers.writer import WriterProcess

    configure_logging()

    async def life() -> None:
        # Each thing is closed, in reverse, however the command ends: a database thread left
        # open would keep the process alive after an error (and systemd would not restart it).
        async with contextlib.AsyncExitStack() as stack:
            services = await stack.enter_async_context(
                opened_services(session.db_path, session.settings)
            )
            # What the carriers bring is written by a process of its own: HTTP and SQLite then
            # run side by side instead of taking turns in this one.
            writer = WriterProcess(session.db_path, session.settings)
            stack.push_async_callback(writer.aclose)
            carriers = await stack.enter_async_context(open_carriers(session.settings))
            runner = CarrierWorker(services.parcels, carriers, writer=writer)
            if once:
                await runner.run_once()
            else:
                await run_until_signalled(runner)

    asyncio.run(life())


async def run_until_signalled(runner: CarrierWorker) -> None:
    """Run the worker until SIGTERM or SIGINT, then let the batch in hand finish briefly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(runner.run(stop))
    signalled = asyncio.create_task(stop.wait())
    try:
        # A worker whose loop died must not sit waiting for a signal: it exits and says why.
        await asyncio.wait((task, signalled), return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            try:
                await asyncio.wait_for(task, STOP_GRACE_SECONDS)
            except TimeoutError:
                logging.getLogger("codspot.worker").warning("batch cut short: it will be redone")
                return
        task.result()
    finally:
        signalled.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


@click.command("sandbox-carrier")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--token", default="sandbox", show_default=True, help="The bearer token to expect.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0.01, max=1_000_000),
    default=60.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1),
    default=50.0,
    show_default=True,
    help="Requests per second before it answers 429.",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0.1, max=3600),
    help="Seconds an idle or slow connection is kept (default: 15).",
)
def sandbox_carrier(
    host: str,
    port: int,
    token: str,
    speed: float,
    seed: int,
    rate: float,
    idle_timeout: float | None,
) -> None:
    """A local carrier that simulates parcel journeys, for the demo and the tests."""
    from aiohttp import web

    from .sandbox.server import IDLE_SECONDS, SandboxSimulation

    idle = IDLE_SECONDS if idle_timeout is None else idle_timeout
    simulation = SandboxSimulation(
        token=token, speed=speed, seed=seed, rate_per_second=rate, read_timeout=idle
    )
    echo(f"sandbox carrier on http://{host}:{port} (speed x{speed:g}, seed {seed})")
    with contextlib.suppress(KeyboardInterrupt):
        web.run_app(
            simulation.app(),
            host=host,
            port=port,
            print=None,
            access_log=None,
            keepalive_timeout=idle,
            # After a 408 the rest of the body is read and dropped this long (so that the
            # client sees the answer rather than a reset): aiohttp's 10 s by default.
            lingering_time=idle,
        )
