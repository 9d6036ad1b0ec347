"""What every command shares: the session the global options decide, and JSON output."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from .domain.errors import DatabaseError
from .domain.models import Actor
from .domain.text import for_terminal, json_for_terminal
from .services.bundle import Services
from .settings import Settings
from .store.db import damage_error

T = TypeVar("T")

# Database files already warned about in this process: a command may open one several times.
_warned: set[Path] = set()


@asynccontextmanager
async def opened_services(
    path: Path, settings: Settings, *, create: bool = False
) -> AsyncIterator[Services]:
    """The services over the database at `path`, closed on every way out of the block.

    A database file that others can read is said once per process, on stderr, with the
    `chmod` that fixes it; its mode is left as it is.
    """
    services = await Services.open(path, settings, create=create)
    try:
        warning = services.db.too_open
        if warning and services.db.path not in _warned:
            _warned.add(services.db.path)
            echo(f"codspot: {warning}", err=True)
        yield services
    except sqlite3.DatabaseError as error:
        # What reached the file outside the store's own connection (the seed's bulk copy): a
        # damaged page, or a full disk, said as itself rather than as an unexpected error.
        if damaged := damage_error(error, services.db.path):
            raise damaged from None
        if isinstance(error, sqlite3.OperationalError):
            raise DatabaseError(f"database error on {services.db.path}: {error}") from None
        raise
    finally:
        await services.close()


@dataclass
class Session:
    """What the global options decided, handed to every command."""

    db_path: Path
    settings: Settings
    db_named: bool = False  # --db or CODSPOT_DB given, rather than the default

    @property
    def agent_name(self) -> str:
        return os.environ.get("CODSPOT_AGENT") or getpass.getuser()

    def run(
        self,
        action: Callable[[Services, Actor], Awaitable[T]],
        *,
        create: bool = False,
    ) -> T:
        """Open the services, identify the agent, run `action`, close: one command's life."""

        async def life() -> T:
            async with opened_services(self.db_path, self.settings, create=create) as services:
                actor = await services.agents.identify(self.agent_name)
                return await action(services, actor)

        return asyncio.run(life())


pass_session = click.make_pass_decorator(Session)


def echo(message: str, *, err: bool = False) -> None:
    """Print `message` for a person. What would act on the terminal rather than be shown (an
    ESC written into the database, a carrier's error text) is shown, escaped: every command
    prints through here."""
    click.echo(for_terminal(message), err=err)


def emit_json(value: Any) -> None:
    # The same JSON value, with no C1 or bidi control left raw (json.dumps escapes C0 only).
    click.echo(json_for_terminal(json.dumps(value, ensure_ascii=False, indent=2)))


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)
