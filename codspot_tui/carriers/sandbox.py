"""The adapter for the sandbox carrier (`codspot sandbox-carrier`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any
from urllib.parse import quote

import httpx

from ..settings import CarrierSettings
from .base import CarrierBadAnswer, ParcelRequest, TrackedEvent, TrackedParcel, TrackResult
from .http import RateLimiter, make_client, request_json
from .vocabulary import SANDBOX

MAX_BATCH = 50


class SandboxClient:
    def __init__(self, settings: CarrierSettings, client: httpx.AsyncClient | None = None) -> None:
        self.name = settings.name
        self.batch_size = min(settings.batch_size, MAX_BATCH)
        token = settings.credentials.get("token", "")
        self._token = token
        self._http = client or make_client(
            settings.url, settings.timeout, {"Authorization": f"Bearer {token}"}
        )
        self._limiter = RateLimiter(settings.rate_per_second)
        # Tracking spells its whole URL: httpx builds a URL from `params=` by merging and
        # parsing it again, and parses each character in Python (for 50 tracking numbers,
        # about 0.25 ms of CPU a call, as much as the rest of building the request).
        self._track_url = str(self._http.base_url.join("v1/parcels")) + "?tracking="

    async def create_parcel(self, parcel: ParcelRequest) -> str:
        body = {
            "reference": parcel.reference,
            "customer": parcel.customer,
            "phone": parcel.phone,
            "city": parcel.city,
            "address": parcel.address,
            "cod_amount": parcel.cod_cents / 100,
            "items": [{"sku": sku, "qty": qty} for sku, qty in parcel.items],
        }
        answer = await request_json(
            self._http,
            self.name,
            "POST",
            "/v1/parcels",
            what="create parcel",
            json=body,
            limiter=self._limiter,
            secrets=(self._token,),
        )
        tracking = answer.get("tracking") if isinstance(answer, dict) else None
        if not isinstance(tracking, str) or not tracking.strip():
            raise CarrierBadAnswer(f"{self.name}: create parcel answered without a tracking number")
        return tracking.strip()

    async def track(self, trackings: Sequence[str]) -> TrackResult:
        answer = await request_json(
            self._http,
            self.name,
            "GET",
            self._track_url + _tracking_query(trackings),
            what="track parcels",
            limiter=self._limiter,
            secrets=(self._token,),
        )
        try:
            parcels = tuple(_parcel(p) for p in answer["parcels"])
            unknown = tuple(str(t) for t in answer.get("unknown", []))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CarrierBadAnswer(
                f"{self.name}: track parcels answered in an unknown shape ({type(error).__name__})"
            ) from None
        return TrackResult(parcels, unknown)

    async def aclose(self) -> None:
        await self._http.aclose()


_PLAIN = re.compile(r"[A-Za-z0-9._~-]*(?:,[A-Za-z0-9._~-]*)*")


def _tracking_query(trackings: Sequence[str]) -> str:
    """The numbers, comma separated; any character a query cannot carry as it is, escaped.

    Tracking numbers are nearly always letters and digits: then the text goes as it is,
    which spares quoting it, and httpx parsing a third more characters.
    """
    joined = ",".join(trackings)
    if _PLAIN.fullmatch(joined):
        return joined
    return ",".join(quote(tracking, safe="") for tracking in trackings)


def _parcel(raw: dict[str, Any]) -> TrackedParcel:
    # A poll reads tens of thousands of events: positional tuples, no throwaway objects.
    events = [_event(event) for event in raw["events"]]
    events.sort(key=_at)  # they come in order; then this is one pass
    status = str(raw["status"])
    return TrackedParcel(
        str(raw["tracking"]),
        status,
        SANDBOX.meaning(status),
        _time(raw["updated_at"]),
        tuple(events),
    )


def _event(raw: dict[str, Any]) -> TrackedEvent:
    status = str(raw["status"])
    return TrackedEvent(
        str(raw["id"]),
        status,
        SANDBOX.meaning(status),
        _time(raw["at"]),
        str(raw.get("description") or ""),
        str(raw.get("location") or ""),
    )


_at = attrgetter("at")


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)  # the sandbox writes "...Z", read since Python 3.11
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
