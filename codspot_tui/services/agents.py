"""Agents and roles. On one shared SQLite file, roles prevent mistakes, not malice."""

from __future__ import annotations

import sqlite3

from ..domain.errors import BadInput, NotAdmin, Refused, UnknownAgent
from ..domain.models import Actor, Agent
from ..domain.statuses import Role
from ..domain.text import check_agent_name
from ..domain.times import from_stored, to_stored
from ..store.db import Database
from .clock import Clock, system_clock


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise NotAdmin(f"only an admin may {what} ({actor.name} is an agent)")


class AgentService:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock

    async def identify(self, name: str) -> Actor:
        """The actor for a login name; unknown or inactive agents are refused."""
        row = await self.db.fetchone("SELECT role, active FROM agents WHERE name = ?", (name,))
        if row is None or not row["active"]:
            raise UnknownAgent(
                f"unknown agent {name!r}: an admin must run `codspot agents add {name}`"
                " (or set CODSPOT_AGENT)"
            )
        return Actor.agent(name, Role(row["role"]))

    async def initialise(self, name: str) -> tuple[Agent, bool]:
        """Make `name` the first admin of a new database; (agent, created)."""
        try:
            name = check_agent_name(name)
        except ValueError as error:
            raise BadInput(str(error)) from None
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT name, role FROM agents WHERE name = ?", (name,)) as c:
                existing = await c.fetchone()
            if existing is None:
                async with conn.execute("SELECT count(*) FROM agents") as c:
                    (count,) = await c.fetchone() or (0,)
                if count:
                    raise Refused(
                        "this database already has agents: ask an admin to add you"
                        f" (`codspot agents add {name}`)"
                    )
                await conn.execute(
                    "INSERT INTO agents (name, role, created_at) VALUES (?, 'admin', ?)",
                    (name, to_stored(self.clock())),
                )
        agent = await self.get(name)
        return agent, existing is None

    async def add(self, actor: Actor, name: str, role: Role) -> Agent:
        require_admin(actor, "add agents")
        try:
            name = check_agent_name(name)
        except ValueError as error:
            raise BadInput(str(error)) from None
        try:
            async with self.db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO agents (name, role, created_at) VALUES (?, ?, ?)",
                    (name, role.value, to_stored(self.clock())),
                )
        except sqlite3.IntegrityError:
            raise Refused(f"agent {name!r} already exists") from None
        return await self.get(name)

    async def get(self, name: str) -> Agent:
        row = await self.db.fetchone(
            "SELECT name, role, active, created_at FROM agents WHERE name = ?", (name,)
        )
        if row is None:
            raise UnknownAgent(f"unknown agent {name!r}")
        return Agent(
            row["name"], Role(row["role"]), bool(row["active"]), from_stored(row["created_at"])
        )

    async def all(self) -> list[Agent]:
        rows = await self.db.fetchall(
            "SELECT name, role, active, created_at FROM agents ORDER BY name"
        )
        return [
            Agent(
                row["name"], Role(row["role"]), bool(row["active"]), from_stored(row["created_at"])
            )
            for row in rows
        ]
