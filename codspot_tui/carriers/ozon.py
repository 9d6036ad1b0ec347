"""Ozon Express (Morocco). Shapes from public integrations: confirm them against a live account.

    POST /customers/{id}/{key}/add-parcel  multipart parcel-* fields
         -> ADD-PARCEL.NEW-PARCEL.TRACKING-NUMBER
    POST /customers/{id}/{key}/tracking    multipart tracking-number
         -> TRACKING.LAST_TRACKING{STATUT, COMMENT, TIME_STR} and TRACKING.HISTORY

The customer id and key travel in the path, so paths never appear in messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from ..settings import CarrierSettings
from .base import (
    CarrierBadAnswer,
    CarrierRejected,
    ParcelRequest,
    TrackedEvent,
    TrackedParcel,
    TrackResult,
)
from .http import RateLimiter, make_client, request_json
from .parsing import carrier_time, synthetic_event_id
from .vocabulary import OZON

CONCURRENT_LOOKUPS = 4


class OzonClient:
    def __init__(self, settings: CarrierSettings, client: httpx.AsyncClient | None = None) -> None:
        self.name = settings.name
        self.batch_size = settings.batch_size
        customer = settings.credentials.get("customer_id", "")
        key = settings.credentials.get("api_key", "")
        self._prefix = f"/customers/{customer}/{key}"
        self._secrets = (key,)
        self._http = client or make_client(settings.url, settings.timeout)
        self._limiter = RateLimiter(settings.rate_per_second)

    async def create_parcel(self, parcel: ParcelRequest) -> str:
        fields = {
            "parcel-receiver": parcel.customer,
            "parcel-phone": parcel.phone,
            "parcel-city": parcel.city,
            "parcel-address": parcel.address,
            "parcel-price": f"{parcel.cod_cents / 100:.2f}",
            "parcel-note": parcel.note or "",
            "parcel-nature": ", ".join(f"{qty} x {sku}" for sku, qty in parcel.items),
            "parcel-stock": "0",
            "parcel-open": "1",
            "parcel-fragile": "0",
            "parcel-replace": "0",
            "parcel-reference": parcel.reference,
        }
        answer = await request_json(
            self._http,
            self.name,
            "POST",
            f"{self._prefix}/add-parcel",
            what="create parcel",
            files={k: (None, v) for k, v in fields.items()},
            limiter=self._limiter,
            secrets=self._secrets,
            paths=(self._prefix,),
        )
        try:
            tracking = answer["ADD-PARCEL"]["NEW-PARCEL"]["TRACKING-NUMBER"]
        except (KeyError, TypeError):
            message = _message(answer)
            if message:
                raise CarrierRejected(f"{self.name}: create parcel rejected: {message}") from None
            raise CarrierBadAnswer(
                f"{self.name}: create parcel answered without a tracking number"
            ) from None
        return str(tracking).strip()

    async def track(self, trackings: Sequence[str]) -> TrackResult:
        gate = asyncio.Semaphore(CONCURRENT_LOOKUPS)

        async def one(code: str) -> TrackedParcel | None:
            async with gate:
                answer = await request_json(
                    self._http,
                    self.name,
                    "POST",
                    f"{self._prefix}/tracking",
                    what="track parcel",
                    files={"tracking-number": (None, code)},
                    limiter=self._limiter,
                    secrets=self._secrets,
                    paths=(self._prefix,),
                )
            return self._parcel(code, answer)

        found = await asyncio.gather(*(one(code) for code in trackings))
        parcels = tuple(p for p in found if p is not None)
        unknown = tuple(code for code, p in zip(trackings, found, strict=True) if p is None)
        return TrackResult(parcels, unknown)

    def _parcel(self, code: str, answer: Any) -> TrackedParcel | None:
        tracking = answer.get("TRACKING") if isinstance(answer, dict) else None
        if not isinstance(tracking, dict):
            raise CarrierBadAnswer(f"{self.name}: track parcel answered without TRACKING")
        last = tracking.get("LAST_TRACKING")
        if not last:  # Ozon answers an unknown number with an empty tracking
            return None
        try:
            history = tracking.get("HISTORY") or []
            steps = history.values() if isinstance(history, dict) else history
            events = [_event(code, step) for step in steps if isinstance(step, dict)]
            latest = _event(code, last)
        except (KeyError, TypeError, ValueError) as error:
            raise CarrierBadAnswer(
                f"{self.name}: track parcel answered in an unknown shape ({error})"
            ) from None
        if latest.event_id not in {e.event_id for e in events}:
            events.append(latest)
        return TrackedParcel(
            code,
            latest.raw_status,
            latest.meaning,
            latest.at,
            tuple(sorted(events, key=lambda e: e.at)),
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def _event(code: str, step: dict[str, Any]) -> TrackedEvent:
    status = str(step["STATUT"]).strip()
    at = carrier_time(step["TIME_STR"])
    return TrackedEvent(
        event_id=synthetic_event_id(code, status, at),
        raw_status=status,
        meaning=OZON.meaning(status),
        at=at,
        description=str(step.get("COMMENT") or ""),
    )


def _message(answer: Any) -> str:
    if isinstance(answer, dict):
        for value in answer.values():
            if isinstance(value, dict) and value.get("MESSAGE"):
                return " ".join(str(value["MESSAGE"]).split())[:200]
    return ""
