"""Sendit (Morocco). Shapes from public integrations: confirm them against a live account.

POST /api/v1/login            {public_key, secret_key} -> data.token
POST /api/v1/deliveries       -> data.code (the tracking number)
GET  /api/v1/deliveries/CODE  -> data.status, data.last_action_at, data.audits[]
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import httpx

from ..settings import CarrierSettings
from .base import (
    CarrierAuthFailed,
    CarrierBadAnswer,
    CarrierRejected,
    ParcelRequest,
    TrackedEvent,
    TrackedParcel,
    TrackResult,
)
from .http import RateLimiter, make_client, request_json
from .parsing import carrier_time, synthetic_event_id
from .vocabulary import SENDIT

CONCURRENT_LOOKUPS = 4  # Sendit tracks one parcel per request


class SenditClient:
    def __init__(self, settings: CarrierSettings, client: httpx.AsyncClient | None = None) -> None:
        self.name = settings.name
        self.batch_size = settings.batch_size
        self._keys = {
            "public_key": settings.credentials.get("public_key", ""),
            "secret_key": settings.credentials.get("secret_key", ""),
        }
        self._http = client or make_client(settings.url, settings.timeout)
        self._limiter = RateLimiter(settings.rate_per_second)
        self._token: str | None = None
        self._login_lock = asyncio.Lock()

    def _secrets(self) -> tuple[str, ...]:
        return (self._keys["secret_key"], self._keys["public_key"], self._token or "")

    async def _login(self) -> str:
        async with self._login_lock:
            if self._token is None:
                answer = await request_json(
                    self._http,
                    self.name,
                    "POST",
                    "/api/v1/login",
                    what="login",
                    json=self._keys,
                    limiter=self._limiter,
                    secrets=self._secrets(),
                )
                token = _data(answer).get("token")
                if not isinstance(token, str) or not token:
                    raise CarrierBadAnswer(f"{self.name}: login answered without a token")
                self._token = token
            return self._token

    async def _call(self, method: str, url: str, *, what: str, **kwargs: Any) -> Any:
        """A call with our bearer token; one fresh login if the token has expired."""
        for attempt in (1, 2):
            token = await self._login()
            try:
                return await request_json(
                    self._http,
                    self.name,
                    method,
                    url,
                    what=what,
                    limiter=self._limiter,
                    secrets=self._secrets(),
                    headers={"Authorization": f"Bearer {token}"},
                    **kwargs,
                )
            except CarrierAuthFailed:
                if self._token == token:  # unless another task has logged in again already
                    self._token = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def create_parcel(self, parcel: ParcelRequest) -> str:
        body = {
            "reference": parcel.reference,
            "name": parcel.customer,
            "phone": parcel.phone,
            "district": parcel.city,
            "address": parcel.address,
            "amount": parcel.cod_cents / 100,
            "comment": parcel.note or "",
            "products": ", ".join(f"{qty} x {sku}" for sku, qty in parcel.items),
            "allow_open": 1,
        }
        answer = await self._call("POST", "/api/v1/deliveries", what="create parcel", json=body)
        code = _data(answer).get("code")
        if not isinstance(code, str) or not code.strip():
            raise CarrierBadAnswer(f"{self.name}: create parcel answered without data.code")
        return code.strip()

    async def track(self, trackings: Sequence[str]) -> TrackResult:
        gate = asyncio.Semaphore(CONCURRENT_LOOKUPS)

        async def one(code: str) -> TrackedParcel | None:
            async with gate:
                try:
                    answer = await self._call(
                        "GET", f"/api/v1/deliveries/{code}", what="track parcel"
                    )
                except CarrierRejected:
                    return None  # 404: Sendit does not know this code
            return self._parcel(code, _data(answer))

        found = await asyncio.gather(*(one(code) for code in trackings))
        parcels = tuple(p for p in found if p is not None)
        unknown = tuple(code for code, p in zip(trackings, found, strict=True) if p is None)
        return TrackResult(parcels, unknown)

    def _parcel(self, code: str, data: dict[str, Any]) -> TrackedParcel:
        try:
            status = str(data["status"])
            updated = carrier_time(data["last_action_at"])
            events = [
                _event(code, str(audit["status"]), carrier_time(audit["created_at"]), audit)
                for audit in data.get("audits") or []
                if isinstance(audit, dict) and audit.get("status")
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise CarrierBadAnswer(
                f"{self.name}: track parcel answered in an unknown shape ({error})"
            ) from None
        # Audits may come newest first: the newest, not the last listed, says if the status
        # has an audit of its own; without one it is an event at `last_action_at`.
        events.sort(key=_at)
        if not events or events[-1].raw_status != status:
            events.append(_event(code, status, updated, {}))
            events.sort(key=_at)
        return TrackedParcel(code, status, SENDIT.meaning(status), updated, tuple(events))

    async def aclose(self) -> None:
        await self._http.aclose()


def _event(code: str, status: str, at: Any, audit: dict[str, Any]) -> TrackedEvent:
    event_id = audit.get("id")
    return TrackedEvent(
        event_id=str(event_id) if event_id is not None else synthetic_event_id(code, status, at),
        raw_status=status,
        meaning=SENDIT.meaning(status),
        at=at,
        description=str(audit.get("comment") or audit.get("title") or ""),
        location=str(audit.get("city") or ""),
    )


_at = attrgetter("at")


def _data(answer: Any) -> dict[str, Any]:
    if isinstance(answer, dict):
        data = answer.get("data")
        found: dict[str, Any] = data if isinstance(data, dict) else answer
        return found
    raise CarrierBadAnswer("sendit answered in an unknown shape")
