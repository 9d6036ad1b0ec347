"""One place that turns HTTP trouble into carrier errors, without leaking secrets.

Messages name the carrier and the operation, never a path or a URL: some carriers put their
account and keys in the path, and a carrier's own error text may echo it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from .base import (
    CarrierAuthFailed,
    CarrierBadAnswer,
    CarrierRateLimited,
    CarrierRejected,
    CarrierUnavailable,
)


class _UrlPathsHidden(logging.Filter):
    """httpx logs each request's full URL at INFO; keep only scheme, host and port."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                f"{arg.scheme}://{arg.netloc.decode()}/..." if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_UrlPathsHidden())


class RateLimiter:
    """At most `rate` calls a second to one carrier, shared by every task that calls it."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """The carrier asked us to wait (Retry-After): nobody calls it before then."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next, self._paused_until)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


def make_client(
    base_url: str, timeout: float, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """One client per carrier: pooled connections, every timeout bounded."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        headers=headers,
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
        follow_redirects=False,
    )


async def request_json(
    client: httpx.AsyncClient,
    carrier: str,
    method: str,
    url: str,
    *,
    what: str,
    limiter: RateLimiter | None = None,
    secrets: Sequence[str] = (),
    paths: Sequence[str] = (),
    **kwargs: Any,
) -> Any:
    """Send one request and return its JSON body, or raise the carrier error that fits.

    A carrier's error text may echo the request's path (a web framework's 404 does): the
    path `url`, and the `paths` the adapter names (a prefix that holds its account), are
    shown as `[path]`, whole or with the prefix alone. `secrets` are blanked out too, in
    case they come back some other way. A secret that is the carrier's own name (the
    default sandbox's token is `sandbox`) hides nothing, and blanking it would blank the
    name that starts every message.
    """
    conceal = _concealer(carrier, (url, *paths), secrets)
    return await _request_json(
        client, carrier, method, url, what=what, limiter=limiter, conceal=conceal, **kwargs
    )


def _concealer(carrier: str, paths: Sequence[str], secrets: Sequence[str]) -> Callable[[str], str]:
    """What `request_json` hides of a carrier's text: each path, as it is, without its first
    slash or percent-encoded, longest first (the whole path before the prefix it starts
    with); then each secret."""
    forms = {
        spelled
        for path in paths
        for form in (path, path.lstrip("/"))
        for spelled in (form, quote(form, safe=""), quote(form))
        if len(spelled) > 1
    }
    shown_as_path = sorted(forms, key=len, reverse=True)
    hidden = [s for s in secrets if s and s != carrier]

    def conceal(text: str) -> str:
        for path in shown_as_path:
            text = text.replace(path, "[path]")
        for secret in hidden:
            text = text.replace(secret, "[redacted]")
        return text

    return conceal


async def _request_json(
    client: httpx.AsyncClient,
    carrier: str,
    method: str,
    url: str,
    *,
    what: str,
    limiter: RateLimiter | None = None,
    conceal: Callable[[str], str],
    **kwargs: Any,
) -> Any:
    if limiter is not None:
        await limiter.acquire()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise CarrierUnavailable(f"{carrier}: {what} timed out") from None
    except httpx.TransportError as error:
        raise CarrierUnavailable(f"{carrier}: {what} failed: {type(error).__name__}") from None
    status = response.status_code
    if status in (401, 403):
        raise CarrierAuthFailed(f"{carrier}: {what} refused our credentials (HTTP {status})")
    if status == 429:
        retry_after = _retry_after(response)
        if limiter is not None:
            limiter.pause(1.0 if retry_after is None else retry_after)
        raise CarrierRateLimited(f"{carrier}: {what} rate limited", retry_after=retry_after)
    if status >= 500:
        raise CarrierUnavailable(f"{carrier}: {what} failed with HTTP {status}")
    if status >= 400:
        reason = _reason(response, conceal)
        raise CarrierRejected(f"{carrier}: {what} rejected (HTTP {status}): {reason}")
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CarrierBadAnswer(
            f"{carrier}: {what} answered with something that is not JSON"
        ) from None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, min(float(value), 3600.0))
    except ValueError:
        return None


def _reason(response: httpx.Response, conceal: Callable[[str], str]) -> str:
    """The carrier's own error text, short and on one line: what it must not show is hidden
    before it is cut, so that a cut never leaves half a path or a secret to be seen."""
    try:
        body = response.json()
        text = body.get("error") or body.get("message") if isinstance(body, dict) else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = None
    text = conceal(str(text or response.reason_phrase or "no reason given"))
    return " ".join(text.split())[:200]
