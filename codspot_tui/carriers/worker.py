"""The carrier worker: creates parcels for confirmed orders and brings their journeys back.

It only calls services. Per carrier it keeps a rate limit (in the adapter), honours
Retry-After, and stops hammering a carrier that keeps failing (a circuit breaker with
exponential pauses). Stopping finishes the batches in hand; a kill leaves nothing
half-written, because what the carrier brought is written in whole transactions, and the
parcels of a transaction that never committed are still due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ..domain.errors import DatabaseError
from ..domain.statuses import Shipping
from ..domain.text import printable
from ..services.parcels import BatchSummary, CarrierNews, DueParcel, ParcelJob, ParcelService
from .base import (
    Carrier,
    CarrierAuthFailed,
    CarrierError,
    CarrierRateLimited,
    ParcelRequest,
    TrackedParcel,
)
from .vocabulary import Info

log = logging.getLogger("codspot.worker")

FAILURES_BEFORE_PAUSE = 3
BATCHES_IN_FLIGHT = 4
WAITING_BATCHES = 8
MAX_PAUSE = 300.0
RETURNED_NOTE = "the carrier reports it returned to the merchant: mark it returned once it is back"


@dataclass
class _Breaker:
    """Consecutive failures of one carrier, and until when we leave it alone."""

    failures: int = 0
    open_until: float = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def succeeded(self) -> None:
        self.failures = 0
        self.open_until = 0.0

    def failed(self, retry_after: float | None) -> float:
        """Count a failure; returns how long to leave the carrier alone (0: not at all)."""
        self.failures += 1
        pause = 0.0
        if retry_after is not None:
            pause = retry_after
        elif self.failures >= FAILURES_BEFORE_PAUSE:
            pause = min(2.0 ** (self.failures - FAILURES_BEFORE_PAUSE) * 5.0, MAX_PAUSE)
        self.open_until = max(self.open_until, time.monotonic() + pause)
        return pause


class NewsWriter(Protocol):
    """Applies a group of carrier news in one transaction: `ParcelService.apply_news` itself
    (on this process's database thread), or the carrier writer's process."""

    async def apply_news(
        self,
        carrier: str,
        polled: Sequence[int],
        news: Sequence[CarrierNews],
        unknown: Sequence[DueParcel],
        *,
        now: datetime,
        quiet: Sequence[tuple[int, datetime]] = (),
    ) -> BatchSummary: ...


class CarrierWorker:
    def __init__(
        self,
        parcels: ParcelService,
        carriers: dict[str, Carrier],
        *,
        tick: float = 1.0,
        jobs_per_round: int = 200,
        writer: NewsWriter | None = None,
    ) -> None:
        self.parcels = parcels
        self.carriers = carriers
        self.tick = tick
        self.jobs_per_round = jobs_per_round
        self.writer: NewsWriter = writer or parcels
        self.breakers = {name: _Breaker() for name in carriers}

    async def run(self, stop: asyncio.Event) -> None:
        """Drain and poll until `stop` is set; then return once the batch in hand is done."""
        log.info("worker started for %s", ", ".join(sorted(self.carriers)) or "no carrier")
        while not stop.is_set():
            try:
                await self.run_once(stop)
            except DatabaseError as error:
                # Busy past its timeout (a long import, say): what was not written stays
                # due or pending, and the next round does it.
                log.error("round cut short: %s; trying again in %.0f s", error, self.tick)
            with contextlib.suppress(TimeoutError):  # the tick passed: go round again
                await asyncio.wait_for(stop.wait(), timeout=self.tick)
        log.info("worker stopped")

    async def run_once(self, stop: asyncio.Event | None = None) -> None:
        """One drain of the outbox and one poll of every parcel that is due."""
        stop = stop or asyncio.Event()
        await self.drain_outbox(stop)
        await asyncio.gather(*(self.poll(name, stop) for name in self.carriers))

    async def close(self) -> None:
        for carrier in self.carriers.values():
            await carrier.aclose()

    # Parcel creation ------------------------------------------------------------------------

    async def drain_outbox(self, stop: asyncio.Event) -> int:
        jobs = await self.parcels.due_jobs(self.jobs_per_round)
        by_carrier: dict[str, list[ParcelJob]] = {}
        for job in jobs:
            by_carrier.setdefault(job.carrier, []).append(job)
        done = await asyncio.gather(
            *(self._create(name, queue, stop) for name, queue in by_carrier.items())
        )
        return sum(done)

    async def _create(self, name: str, jobs: list[ParcelJob], stop: asyncio.Event) -> int:
        carrier = self.carriers.get(name)
        created = 0
        for job in jobs:
            if stop.is_set():
                break
            if carrier is None:
                await self.parcels.parcel_failed(
                    job, f"no carrier named {name!r} in the settings", retryable=False
                )
                continue
            breaker = self.breakers[name]
            if breaker.is_open():
                break
            try:
                tracking = await carrier.create_parcel(_request(job))
            except CarrierAuthFailed as error:
                # Our credentials are wrong, not the parcel: no parcel is marked failed.
                breaker.failed(MAX_PAUSE)
                await self._carrier_failed(name, error, MAX_PAUSE)
                log.error("%s: %s; fix its credentials in the settings", name, error)
                break
            except CarrierError as error:
                retry_at = await self.parcels.parcel_failed(
                    job, str(error), retryable=error.retryable
                )
                pause = breaker.failed(
                    error.retry_after if isinstance(error, CarrierRateLimited) else None
                )
                if pause:
                    await self._carrier_failed(name, error, pause)
                log.warning(
                    "%s: parcel for %s not created: %s (retry at %s%s)",
                    name,
                    job.ref,
                    error,
                    f"{retry_at:%H:%M:%S}",
                    f", pausing {name} {pause:.0f}s" if pause else "",
                )
                continue
            breaker.succeeded()
            await self.parcels.parcel_created(job, tracking)
            created += 1
            log.info("%s: parcel %s created for order %s", name, tracking, job.ref)
        return created

    async def _carrier_failed(self, name: str, error: CarrierError, pause: float) -> None:
        """Make the failure, and how long we leave the carrier alone, visible in its health."""
        until = self.parcels.clock() + timedelta(seconds=pause) if pause else None
        await self.parcels.carrier_failed(name, str(error), until)

    # Polling --------------------------------------------------------------------------------

    async def poll(self, name: str, stop: asyncio.Event) -> int:
        """Poll every parcel of one carrier due now; returns how many were polled.

        A few lanes each take the next batch, track it and hand what it brings to the
        carrier's applier, so that the database work overlaps the waits for the carrier; the
        adapter's rate limit still bounds the calls. A carrier that fails stops every lane.
        """
        carrier = self.carriers[name]
        breaker = self.breakers[name]
        due = _DueBatches(self.parcels, name, max(1, carrier.batch_size), self.parcels.clock())
        applier = _Applier(self.writer, name, self.parcels.clock)

        async def lane() -> int:
            polled = 0
            while not stop.is_set() and not breaker.is_open():
                batch = await due.next()
                if not batch:
                    break
                count = await self._poll_batch(name, carrier, batch, applier)
                if count is None:
                    break  # the carrier is failing: leave the rest for the next round
                polled += count
            return polled

        try:
            polled = await asyncio.gather(*(lane() for _ in range(BATCHES_IN_FLIGHT)))
        finally:
            await applier.finish()
        return sum(polled)

    async def _poll_batch(
        self, name: str, carrier: Carrier, due: list[DueParcel], applier: _Applier
    ) -> int | None:
        """Track one batch and apply what it brings; None when the carrier failed."""
        breaker = self.breakers[name]
        try:
            result = await carrier.track([parcel.tracking for parcel in due])
        except CarrierError as error:
            pause = breaker.failed(MAX_PAUSE if not error.retryable else error.retry_after)
            await self._carrier_failed(name, error, pause)
            log.warning(
                "%s: tracking failed: %s%s",
                name,
                error,
                f" (pausing {pause:.0f}s)" if pause else "",
            )
            return None
        breaker.succeeded()
        by_tracking = {parcel.tracking: parcel for parcel in due}
        unknown = [by_tracking[t] for t in result.unknown if t in by_tracking]
        known = [parcel for parcel in due if parcel not in unknown] if unknown else due
        news, quiet = _news(by_tracking, result.parcels)
        await applier.hand_over(_Tracked(known, news, unknown, quiet))
        return len(due)


class _DueBatches:
    """The parcels due at the start of a poll, handed out one batch at a time, each once.

    Pages are read as they are needed, in due order, after a cursor: a parcel that a lane
    has just rescheduled is not handed out again, and no lane waits for another's writes.
    """

    def __init__(self, parcels: ParcelService, carrier: str, size: int, now: datetime) -> None:
        self.parcels = parcels
        self.carrier = carrier
        self.size = size
        self.now = now
        self.ready: list[DueParcel] = []
        self.last: DueParcel | None = None
        self.exhausted = False
        self.lock = asyncio.Lock()

    async def next(self) -> list[DueParcel]:
        async with self.lock:
            if len(self.ready) < self.size and not self.exhausted:
                page = self.size * BATCHES_IN_FLIGHT * 2
                found = await self.parcels.due_parcels(
                    self.carrier, page, now=self.now, after=self.last
                )
                self.exhausted = len(found) < page
                if found:
                    self.last = found[-1]
                self.ready += found
            batch, self.ready = self.ready[: self.size], self.ready[self.size :]
            return batch


@dataclass
class _Tracked:
    """What one carrier call brought back, waiting for the database."""

    polled: list[DueParcel]
    news: list[CarrierNews]
    unknown: list[DueParcel]
    quiet: list[tuple[int, datetime]]  # see `ParcelService.apply_news`


class _Applier:
    """Writes the tracked batches of one carrier, all those that piled up together in one
    transaction (group commit), while the lanes go on asking the carrier.

    At most WAITING_BATCHES wait at a time: a lane that brings another waits for room.
    Each transaction is all or nothing, so the parcels of a group lost to a kill stay due
    and are asked again. A failed write stops the lanes (their next hand-over raises it).
    """

    def __init__(self, writer: NewsWriter, carrier: str, clock: Callable[[], datetime]) -> None:
        self.writer = writer
        self.carrier = carrier
        self.clock = clock
        self.waiting: list[_Tracked] = []
        self.room = asyncio.Semaphore(WAITING_BATCHES)
        self.writing: asyncio.Task[None] | None = None

    async def hand_over(self, tracked: _Tracked) -> None:
        await self.room.acquire()
        self._raise_failure()
        self.waiting.append(tracked)
        if self.writing is None or self.writing.done():
            self.writing = asyncio.create_task(self._write_waiting())

    async def finish(self) -> None:
        """Return once everything handed over is written (or raise why it was not)."""
        if self.writing is not None:
            await self.writing

    def _raise_failure(self) -> None:
        if self.writing is not None and self.writing.done() and not self.writing.cancelled():
            failure = self.writing.exception()
            if failure is not None:
                self.room.release()
                raise failure

    async def _write_waiting(self) -> None:
        while self.waiting:
            group, self.waiting = self.waiting, []
            try:
                summary = await self.writer.apply_news(
                    self.carrier,
                    [parcel.order_id for batch in group for parcel in batch.polled],
                    [item for batch in group for item in batch.news],
                    [parcel for batch in group for parcel in batch.unknown],
                    now=self.clock(),
                    quiet=[seen for batch in group for seen in batch.quiet],
                )
            finally:
                for _ in group:
                    self.room.release()
            if summary.applied or summary.unmapped:
                log.info(
                    "%s: polled %d, moved %d, refused %d, unmapped %d",
                    self.carrier,
                    sum(len(batch.polled) + len(batch.unknown) for batch in group),
                    summary.applied,
                    summary.refused,
                    summary.unmapped,
                )


def _request(job: ParcelJob) -> ParcelRequest:
    return ParcelRequest(
        reference=job.reference,
        customer=job.customer,
        phone=job.phone,
        city=job.city,
        address=job.address,
        cod_cents=job.cod_cents,
        items=job.items,
        note=job.note,
    )


def _news(
    ours: dict[str, DueParcel], parcels: Iterable[TrackedParcel]
) -> tuple[list[CarrierNews], list[tuple[int, datetime]]]:
    """The events of each tracked parcel that may still matter, oldest first; and the quiet
    parcels: (order id, time) of those whose newest event, new to us, is in no news.

    Events before the newest one seen are history (DESIGN §1), even if that one moved
    nothing; an event in the same second may be new, so it is kept (its id dedupes a replay).
    A step that would not change the status we expect by then (in transit after picked up:
    both `shipped`) is dropped here rather than sent to be refused; its time still counts.
    """
    news: list[CarrierNews] = []
    quiet: list[tuple[int, datetime]] = []
    for tracked in parcels:
        parcel = ours.get(tracked.tracking)
        if parcel is None or not tracked.events:
            continue  # not a parcel we asked about, or nothing said
        last = parcel.last_event_at
        expected: Shipping = parcel.shipping
        newest: datetime | None = None  # the newest event's time, if it is in no news
        for event in tracked.events:
            if last is not None and event.at < last:
                continue
            if event.meaning == expected or event.meaning is Info.WAITING:
                if last is None or event.at > last:
                    newest = event.at
                continue  # nothing of ours would change
            newest = None
            event_id = printable(event.event_id, 200)
            raw = printable(event.raw_status, 100)
            where = f" ({printable(event.location, 80)})" if event.location else ""
            said = printable(event.description) + where
            if isinstance(event.meaning, Shipping):
                expected = event.meaning
                news.append(
                    CarrierNews(parcel.order_id, event_id, raw, event.at, event.meaning, True, said)
                )
            elif event.meaning is Info.RETURNED_TO_SENDER:
                note = f"{said}: {RETURNED_NOTE}" if said else RETURNED_NOTE
                news.append(CarrierNews(parcel.order_id, event_id, raw, event.at, None, True, note))
            elif event.meaning is None:
                note = f"unmapped carrier status {raw!r}" + (f": {said}" if said else "")
                news.append(
                    CarrierNews(parcel.order_id, event_id, raw, event.at, None, False, note)
                )
        if newest is not None:
            quiet.append((parcel.order_id, newest))
    return news, quiet
