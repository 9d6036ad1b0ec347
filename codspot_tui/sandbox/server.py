"""The sandbox carrier's HTTP API (aiohttp). Keep it exactly so: other tools rely on it.

    POST /v1/parcels                       create (idempotent on `reference`)
    GET  /v1/parcels?tracking=T1,T2,...    track at most 50
    POST /_faults                          tests: make the next N answers misbehave
    POST /_parcels/{tracking}/events       tests: append an event by hand

Every request needs `Authorization: Bearer <token>`. State lives in memory.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .journeys import Step, journey

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_TRACK = 50
FAULTS = ("500", "503", "429", "hang", "drop", "not_json", "bad_shape", "unknown_status")
# What an "unknown_status" fault reports: a word outside the sandbox's vocabulary.
UNKNOWN_WORD = "teleported"
# A connection idle this long is closed, and so is one that has not sent a whole request line
# and headers by then (aiohttp arms this timer when the connection opens, and only a whole
# request resets it); a body not arriving whole within it is answered 408. Without them an
# idle or slow client holds its socket forever (aiohttp's default keep-alive is an hour).
IDLE_SECONDS = 15.0


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Parcel:
    tracking: str
    reference: str
    created: float  # real epoch seconds
    steps: tuple[Step, ...]
    extra: list[dict[str, Any]] = field(default_factory=list)  # events added by hand

    def events(self, now: float, speed: float) -> list[dict[str, Any]]:
        shown = [
            {
                "id": f"{self.tracking}-{n}",
                "status": step.status,
                "at": _iso(self.created + step.after / speed),
                "description": step.description,
                "location": step.location,
            }
            for n, step in enumerate(self.steps)
            if self.created + step.after / speed <= now
        ]
        return shown + self.extra


@dataclass
class Fault:
    kind: str
    remaining: int
    retry_after: int = 1


class SandboxSimulation:
    """The simulation behind the API: parcels, rate limit, injected faults."""

    def __init__(
        self,
        *,
        token: str,
        speed: float = 60.0,
        seed: int = 1,
        rate_per_second: float = 50.0,
        read_timeout: float = IDLE_SECONDS,
    ) -> None:
        self.token = token
        self.read_timeout = read_timeout
        self.speed = speed
        self.seed = seed
        self.rate = rate_per_second
        self.parcels: dict[str, Parcel] = {}
        self.by_reference: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.unknown_statuses = 0
        self.requests = 0
        self._allowance = rate_per_second
        self._checked = time.monotonic()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_post("/v1/parcels", self.create)
        app.router.add_get("/v1/parcels", self.track)
        app.router.add_post("/_faults", self.add_fault)
        app.router.add_post("/_parcels/{tracking}/events", self.add_event)
        return app

    def _take_token(self) -> float | None:
        """Token bucket: None when allowed, else seconds until the next request may pass."""
        now = time.monotonic()
        self._allowance = min(self.rate, self._allowance + (now - self._checked) * self.rate)
        self._checked = now
        if self._allowance >= 1:
            self._allowance -= 1
            return None
        return (1 - self._allowance) / self.rate

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests += 1
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        if request.path.startswith("/_"):
            return await handler(request)  # the test controls are never limited or faulted
        fault = self._next_fault()
        if fault is not None:
            return await self._misbehave(request, fault)
        wait = self._take_token()
        if wait is not None:
            return web.json_response(
                {"error": "rate limit exceeded"},
                status=429,
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return await handler(request)

    def _next_fault(self) -> Fault | None:
        while self.faults and self.faults[0].remaining <= 0:
            self.faults.pop(0)
        if not self.faults:
            return None
        self.faults[0].remaining -= 1
        return self.faults[0]

    async def _misbehave(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind in ("500", "503"):
            return web.json_response({"error": "carrier down"}, status=int(fault.kind))
        if fault.kind == "429":
            return web.json_response(
                {"error": "rate limit exceeded"},
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        if fault.kind == "hang":
            await asyncio.sleep(3600)
        if fault.kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if fault.kind == "not_json":
            return web.Response(text="<html>Bad gateway</html>", content_type="text/html")
        return web.json_response({"parcels": "not a list", "unknown": 7})  # bad_shape

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _json_body(request, self.read_timeout)
        kind = str(body.get("fault", ""))
        if kind not in FAULTS:
            return _bad(f"fault must be one of {', '.join(FAULTS)}")
        count = body.get("count", 1)
        if not isinstance(count, int) or count < 1:
            return _bad("count must be a positive whole number")
        if kind == "unknown_status":
            self.unknown_statuses += count  # the next N parcels tracked report a new word
        else:
            self.faults.append(Fault(kind, count, int(body.get("retry_after", 1))))
        return web.json_response({"ok": True})

    async def add_event(self, request: web.Request) -> web.Response:
        parcel = self.parcels.get(request.match_info["tracking"])
        if parcel is None:
            return web.json_response({"error": "unknown tracking number"}, status=404)
        body = await _json_body(request, self.read_timeout)
        status, at = body.get("status"), body.get("at")
        if not isinstance(status, str) or not isinstance(at, str):
            return _bad("an event needs status and at (ISO 8601)")
        event = {
            "id": str(body.get("id") or f"{parcel.tracking}-x{len(parcel.extra)}"),
            "status": status,
            "at": at,
            "description": str(body.get("description", "added by hand")),
            "location": str(body.get("location", "")),
        }
        parcel.extra.append(event)
        return web.json_response(event, status=201)

    async def create(self, request: web.Request) -> web.Response:
        body = await _json_body(request, self.read_timeout)
        problem = _check_parcel(body)
        if problem:
            return _bad(problem)
        reference = body["reference"].strip()
        known = self.by_reference.get(reference)
        if known is not None:
            parcel = self.parcels[known]
            return web.json_response(self._created(parcel), status=200)
        tracking = f"SBX{self.seed % 100:02d}{len(self.parcels) + 1:08d}"
        parcel = Parcel(
            tracking, reference, time.time(), journey(self.seed, reference, body["city"])
        )
        self.parcels[tracking] = parcel
        self.by_reference[reference] = tracking
        return web.json_response(self._created(parcel), status=201)

    def _created(self, parcel: Parcel) -> dict[str, Any]:
        return {
            "tracking": parcel.tracking,
            "status": "pending",
            "created_at": _iso(parcel.created),
        }

    async def track(self, request: web.Request) -> web.Response:
        wanted = [t for t in request.query.get("tracking", "").split(",") if t.strip()]
        if not wanted:
            return _bad("tracking=T1,T2,... is required")
        if len(wanted) > MAX_TRACK:
            return _bad(f"at most {MAX_TRACK} tracking numbers per request")
        now = time.time()
        parcels, unknown = [], []
        for tracking in wanted:
            parcel = self.parcels.get(tracking.strip())
            if parcel is None:
                unknown.append(tracking)
                continue
            events = sorted(parcel.events(now, self.speed), key=lambda e: e["at"])
            if self.unknown_statuses > 0:  # an injected fault: the latest step in a new word
                self.unknown_statuses -= 1
                events[-1] = {**events[-1], "id": f"{events[-1]['id']}-x", "status": UNKNOWN_WORD}
            latest = events[-1]
            parcels.append(
                {
                    "tracking": parcel.tracking,
                    "status": latest["status"],
                    "updated_at": latest["at"],
                    "events": events,
                }
            )
        return web.json_response({"parcels": parcels, "unknown": unknown})


async def _json_body(request: web.Request, timeout: float) -> dict[str, Any]:
    try:
        async with asyncio.timeout(timeout):
            body = await request.json()
    except TimeoutError:
        # Answered, and the connection closed: what is left of the body is never read.
        raise web.HTTPRequestTimeout(
            text='{"error": "the body did not arrive in time"}',
            content_type="application/json",
            headers={"Connection": "close"},
        ) from None
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return body


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _check_parcel(body: dict[str, Any]) -> str | None:
    for key in ("reference", "customer", "phone", "city", "address"):
        value = body.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            return f"{key} must be non-empty text"
    amount = body.get("cod_amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0:
        return "cod_amount must be a number, zero or more"
    items = body.get("items")
    if not isinstance(items, list) or not items:
        return "items must be a non-empty list of {sku, qty}"
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            return "each item needs a sku"
        qty = item.get("qty")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            return "each item needs a whole qty of at least 1"
    return None
