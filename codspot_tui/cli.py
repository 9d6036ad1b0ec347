"""The command line over the services (DESIGN §4). Scriptable: `--json` on every listing.

Exit codes: 0 done; 2 bad usage; 3 refused by the rules or a role; 4 not found; 1 anything
else. Every failure is one line on stderr, never a traceback (CODSPOT_DEBUG=1 shows it).
"""

from __future__ import annotations

import asyncio
import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from . import __version__, cli_views
from .cli_carriers import carriers, sandbox_carrier, worker
from .cli_dashboard import demo, tui
from .cli_session import Session, echo, emit_json, json_option, opened_services, pass_session
from .domain.errors import BadInput, CodspotError
from .domain.models import Actor
from .domain.statuses import Role, StatusKind, parse_status
from .domain.times import parse_user_time
from .services.bundle import Services
from .services.status import Move
from .settings import config_path_from, default_db_path, load_settings
from .store.orders import OrderFilter


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path),
    envvar="CODSPOT_DB",
    help="Database file (else CODSPOT_DB, else the user's data dir).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Settings file (else CODSPOT_CONFIG, else the user's config dir).",
)
@click.version_option(__version__, prog_name="codspot")
@click.pass_context
def cli(ctx: click.Context, db_path: Path | None, config_path: Path | None) -> None:
    """Cash-on-delivery order operations: confirm, ship, follow every parcel."""
    path, named = config_path_from(str(config_path) if config_path else None)
    ctx.obj = Session(
        db_path or default_db_path(), load_settings(path, required=named), db_path is not None
    )
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


@cli.command()
@pass_session
def init(session: Session) -> None:
    """Create the database and make you (the current agent) its admin."""

    async def action(services: Services) -> None:
        agent, created = await services.agents.initialise(session.agent_name)
        if created:
            echo(f"Created {session.db_path}; {agent.name} is admin.")
        else:
            echo(f"{session.db_path} is ready; {agent.name} is {agent.role}.")

    async def life() -> None:
        async with opened_services(session.db_path, session.settings, create=True) as services:
            await action(services)

    asyncio.run(life())


# Agents -------------------------------------------------------------------------------------


@cli.group()
def agents() -> None:
    """Who may use the database, and who is admin."""


@agents.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="agent")
@pass_session
def agents_add(session: Session, name: str, role: str) -> None:
    """Add an agent (admins only)."""

    async def action(services: Services, actor: Actor) -> None:
        agent = await services.agents.add(actor, name, Role(role))
        echo(f"Added {agent.name} ({agent.role}).")

    session.run(action)


@agents.command("list")
@json_option
@pass_session
def agents_list(session: Session, as_json: bool) -> None:
    """Every agent and their role."""

    async def action(services: Services, actor: Actor) -> None:
        found = await services.agents.all()
        if as_json:
            emit_json([cli_views.agent_json(agent) for agent in found])
            return
        rows = [(a.name, a.role.value, "yes" if a.active else "no") for a in found]
        echo(cli_views.table(("agent", "role", "active"), rows))

    session.run(action)


# Products and stock -------------------------------------------------------------------------


def parse_money(text: str | None, what: str = "price") -> int:
    """'199.50' (or '199,50') as cents; BadInput for anything else."""
    if text is None:
        return 0
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise BadInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise BadInput(f"{what} {text!r} must be zero or more, with at most 2 decimals")
    if value > Decimal("100000000"):
        raise BadInput(f"{what} {text!r} is too large")
    return int(value * 100)


@cli.group()
def products() -> None:
    """The catalogue."""


@products.command("add")
@click.argument("sku")
@click.option("--name", required=True, help="What the agents and customers call it.")
@click.option("--price", help="Unit price, e.g. 199.00")
@click.option("--stock", type=int, default=0, show_default=True, help="Units on hand now.")
@click.option("--low", type=int, default=0, show_default=True, help="Low-stock mark.")
@pass_session
def products_add(
    session: Session, sku: str, name: str, price: str | None, stock: int, low: int
) -> None:
    """Add a product (admins only)."""
    price_cents = parse_money(price)

    async def action(services: Services, actor: Actor) -> None:
        product = await services.stock.add_product(
            actor, sku, name, price_cents=price_cents, stock=stock, low=low
        )
        echo(f"Added {product.sku} ({product.name}), {product.on_hand} on hand.")

    session.run(action)


@cli.group()
def stock() -> None:
    """Stock on hand and its ledger."""


@stock.command("list")
@json_option
@pass_session
def stock_list(session: Session, as_json: bool) -> None:
    """Every product with units on hand; '!' marks low stock."""

    async def action(services: Services, actor: Actor) -> None:
        found = await services.stock.products()
        if as_json:
            emit_json([cli_views.product_json(product) for product in found])
            return
        rows = [(p.sku, p.name, p.on_hand, p.low, "!" if p.is_low else "") for p in found]
        echo(cli_views.table(("sku", "name", "on_hand", "low", ""), rows))

    session.run(action)


@stock.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("sku")
@click.argument("delta", type=int)
@click.option("--reason", required=True, help="Why: a count, breakage, goods received...")
@pass_session
def stock_adjust(session: Session, sku: str, delta: int, reason: str) -> None:
    """Correct on-hand units by DELTA, e.g. 50 or -3 (admins only)."""

    async def action(services: Services, actor: Actor) -> None:
        product = await services.stock.adjust(actor, sku, delta, reason)
        echo(f"{product.sku}: {delta:+d}, now {product.on_hand} on hand.")

    session.run(action)


@stock.command("history")
@click.argument("sku")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@json_option
@pass_session
def stock_history(session: Session, sku: str, limit: int, as_json: bool) -> None:
    """The ledger of one product, newest first."""

    async def action(services: Services, actor: Actor) -> None:
        found = await services.stock.history(sku, limit=limit)
        if as_json:
            emit_json([cli_views.movement_json(movement) for movement in found])
            return
        rows = [
            (cli_views.stamp(m.at), m.delta, m.reason, m.order_ref, m.actor, m.note) for m in found
        ]
        echo(cli_views.table(("at", "delta", "reason", "order", "actor", "note"), rows))

    session.run(action)


# Lead import --------------------------------------------------------------------------------


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--rejects", type=click.Path(path_type=Path), help="Where bad rows go.")
@click.option("--source", help="Lead provider name (default: the file's name).")
@json_option
@pass_session
def import_leads(
    session: Session, file: Path, rejects: Path | None, source: str | None, as_json: bool
) -> None:
    """Import leads from CSV or JSON lines; bad rows go to a rejects file."""
    from .services.leads import LeadImporter

    async def action(services: Services, actor: Actor) -> Any:
        importer = LeadImporter(services.db, services.settings, services.clock)
        return await importer.import_file(file, rejects=rejects, source=source)

    report = session.run(action)
    rejects_file = None if report.rejects_file is None else str(report.rejects_file)
    if as_json:
        emit_json(
            {
                "imported": report.imported,
                "rejected": report.rejected,
                "duplicates": report.duplicates,
                "skipped": report.skipped,
                "rejects_file": rejects_file,
            }
        )
    else:
        echo(
            f"Imported {report.imported} orders ({report.duplicates} marked duplicate), "
            f"skipped {report.skipped} already imported, rejected {report.rejected}."
        )
    for problem in report.problems:
        echo(problem, err=True)
    if rejects_file:
        echo(f"Rejected rows are in {rejects_file}", err=True)


# Orders -------------------------------------------------------------------------------------


def status_list(kind: StatusKind, text: str | None) -> frozenset[Any]:
    if not text:
        return frozenset()
    try:
        return frozenset(parse_status(kind, part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise BadInput(str(error)) from None


@cli.group()
def orders() -> None:
    """List, show and move orders."""


@orders.command("list")
@click.option("--confirmation", help="Comma-separated confirmation statuses.")
@click.option("--shipping", help="Comma-separated shipping statuses.")
@click.option("--search", help="Text in ref, customer, phone, city or tracking.")
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@pass_session
def orders_list(
    session: Session,
    confirmation: str | None,
    shipping: str | None,
    search: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Orders, newest first."""
    where = OrderFilter(
        confirmation=status_list(StatusKind.CONFIRMATION, confirmation),
        shipping=status_list(StatusKind.SHIPPING, shipping),
        search=search.strip() if search and search.strip() else None,
    )

    async def action(services: Services, actor: Actor) -> None:
        found = await services.orders.page(where, limit=limit)
        now = services.clock()
        if as_json:
            emit_json([cli_views.order_json(order, now) for order in found])
            return
        rows = [
            (
                o.ref,
                cli_views.stamp(o.created_at),
                o.customer,
                o.phone,
                o.city,
                o.delivery,
                o.confirmation.value,
                o.shipping.value if o.shipping else None,
                cli_views.money(o.total_cents),
            )
            for o in found
        ]
        headers = (
            "ref",
            "created",
            "customer",
            "phone",
            "city",
            "delivery",
            "confirmation",
            "shipping",
            "total",
        )
        echo(cli_views.table(headers, rows))

    session.run(action)


@orders.command("show")
@click.argument("ref")
@json_option
@pass_session
def orders_show(session: Session, ref: str, as_json: bool) -> None:
    """One order with its items and timeline."""

    async def action(services: Services, actor: Actor) -> None:
        order = await services.orders.get(await services.orders.resolve(ref), with_events=True)
        now = services.clock()
        if as_json:
            emit_json(cli_views.order_json(order, now, with_events=True))
        else:
            echo(cli_views.order_text(order, now))

    session.run(action)


@orders.command("next")
@json_option
@pass_session
def orders_next(session: Session, as_json: bool) -> None:
    """Claim the next order of your confirmation queue for a call, and show it."""

    async def action(services: Services, actor: Actor) -> None:
        order = await services.queue.claim_next(actor)
        if order is None:
            if as_json:
                emit_json(None)
            else:
                echo("Nothing to call right now.")
            return
        now = services.clock()
        if as_json:
            emit_json(cli_views.order_json(order, now))
        else:
            echo(cli_views.order_text(order, now))

    session.run(action)


@orders.command("set")
@click.argument("ref")
@click.option("--confirmation", help="new confirmation status, e.g. confirmed")
@click.option("--shipping", help="new shipping status, e.g. fulfilled")
@click.option("--callback-at", help="ISO 8601 time for call_later, e.g. 2026-11-28T16:00")
@click.option("--note", help="Why; required with --force.")
@click.option("--force", is_flag=True, help="Admin override of the rules, audited.")
@pass_session
def orders_set(
    session: Session,
    ref: str,
    confirmation: str | None,
    shipping: str | None,
    callback_at: str | None,
    note: str | None,
    force: bool,
) -> None:
    """Move one of an order's two statuses."""
    if (confirmation is None) == (shipping is None):
        raise click.UsageError("give exactly one of --confirmation or --shipping")
    kind = StatusKind.CONFIRMATION if confirmation else StatusKind.SHIPPING
    try:
        target = parse_status(kind, confirmation or shipping or "")
        callback = parse_user_time(callback_at) if callback_at else None
    except ValueError as error:
        raise BadInput(str(error)) from None
    if callback is not None and target != "call_later":
        raise BadInput("--callback-at goes with --confirmation call_later")
    if target == "call_later" and callback is None:
        raise BadInput("call_later needs --callback-at (when to call back)")

    async def action(services: Services, actor: Actor) -> None:
        order_id = await services.orders.resolve(ref)
        move = Move(order_id, kind, target, note=note, callback_at=callback, force=force)
        result = await services.status.apply(actor, move)
        echo(f"{result.ref}: {kind} is now {result.status}.")

    session.run(action)


# Figures and data ---------------------------------------------------------------------------


@cli.command()
@json_option
@pass_session
def kpi(session: Session, as_json: bool) -> None:
    """Confirmation, delivery and return rates; cash delivered and still to collect."""

    async def action(services: Services, actor: Actor) -> None:
        from .services.kpi import KpiService

        figures = await KpiService(services.db).figures()
        if as_json:
            emit_json(cli_views.kpi_json(figures))
            return
        echo(
            cli_views.table(
                ("figure", "value"),
                [
                    ("orders", figures.orders),
                    ("confirmation rate", cli_views.percent(figures.confirmation_rate)),
                    ("delivery rate", cli_views.percent(figures.delivery_rate)),
                    ("return rate", cli_views.percent(figures.return_rate)),
                    ("cash delivered", cli_views.money(figures.cash_delivered_cents)),
                    ("cash pending", cli_views.money(figures.cash_pending_cents)),
                ],
            )
        )

    session.run(action)


@cli.command()
@click.option("--orders", "order_count", type=click.IntRange(1, 10_000_000), required=True)
@click.option(
    "--products", "product_count", type=click.IntRange(1, 500), default=12, show_default=True
)
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True)
@click.option("--seed", "seed_value", type=int, default=1, show_default=True)
@pass_session
def seed(
    session: Session, order_count: int, product_count: int, days: int, seed_value: int
) -> None:
    """Fill the database with realistic synthetic orders (admins only)."""
    from .services.agents import require_admin
    from .services.seed import seed_database

    async def action(services: Services, actor: Actor) -> Any:
        require_admin(actor, "seed data")
        return await seed_database(
            services.db,
            services.settings,
            orders=order_count,
            products=product_count,
            days=days,
            seed=seed_value,
            clock=services.clock,
        )

    report = session.run(action)
    echo(
        f"Seeded {report.orders} orders, {report.products} products, "
        f"agents {', '.join(report.agents)}."
    )


for command in (carriers, worker, sandbox_carrier, tui, demo):
    cli.add_command(command)


# Entry point --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the command line; map every failure to one line and its exit code."""
    try:
        cli.main(args=argv, prog_name="codspot", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        echo(f"codspot: {error.format_message()}", err=True)
        sys.exit(2 if isinstance(error, click.UsageError) else error.exit_code)
    except CodspotError as error:
        echo(f"codspot: {error}", err=True)
        sys.exit(error.exit_code)
    except (KeyboardInterrupt, click.Abort):
        echo("codspot: interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("CODSPOT_DEBUG"):
            raise
        echo(f"codspot: unexpected error: {type(error).__name__}: {error}", err=True)
        sys.exit(1)
    sys.exit(0)
