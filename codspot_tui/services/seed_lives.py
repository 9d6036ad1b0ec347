"""The life of each synthetic order, move by move, as `StatusService` would have recorded it.

Calls first (no answer, call later, then confirmed, canceled or fake), then for confirmed
orders the parcel's journey (`seed_journeys`). A life stops at `now`, so recent orders are
still in the queue and old ones are delivered or back on the shelf.

This runs a million times per big seed, hence plain tuples, times as integers until written,
statuses as plain `str` (sqlite3 sends `str` subclasses such as our enums through its slow
adapter protocol) and rows built straight into flat lists for `store.bulk.stage`.
"""

from __future__ import annotations

import json
import pickle
import random
import sys
from bisect import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import accumulate
from pathlib import Path

from ..domain.errors import MoveNotAllowed
from ..domain.models import Actor
from ..domain.rules import Mover, check_move
from ..domain.statuses import (
    LOCAL_DELIVERY,
    Confirmation,
    EventSource,
    Shipping,
    StatusKind,
    StockReason,
    Sync,
)
from ..domain.times import to_stored
from ..store import bulk
from .seed_journeys import (
    CALLBACK_HOURS,
    CARRIER,
    CARRIER_JOURNEYS,
    CLOSING,
    DAY,
    EXP,
    HOUR,
    LOCAL_JOURNEYS,
    MISSES,
    MOROCCO,
    OPENING,
    Step,
)

SOURCE, REF_PREFIX = "seed", "S"  # refs S0000001, S0000002, ...

C, S = Confirmation, Shipping
CONF, SHIP = StatusKind.CONFIRMATION.value, StatusKind.SHIPPING.value
MANUAL, BY_CARRIER, AUTO = (
    EventSource.MANUAL.value,
    EventSource.CARRIER.value,
    EventSource.AUTO.value,
)
NEW, NO_ANSWER, CALL_LATER = C.NEW.value, C.NO_ANSWER.value, C.CALL_LATER.value
CANCELED, FAKE, CONFIRMED = C.CANCELED.value, C.FAKE.value, C.CONFIRMED.value
CREATED, DELIVERED, IN_RETURN = S.CREATED.value, S.DELIVERED.value, S.IN_RETURN.value
RETURNED = S.RETURNED.value
TAKEN, PUT_BACK = StockReason.CONFIRMED.value, StockReason.RETURNED.value
PENDING, SYNCED = Sync.PENDING.value, Sync.SYNCED.value


@dataclass(frozen=True)
class World:
    """What every part of one seed shares. Plain data: it is sent to worker processes."""

    seed: int
    now: int
    start: int  # orders are created between start and now (epoch seconds)
    count: int  # orders in the whole seed
    first_id: int  # id and ref number of the seed's first order
    first_number: int
    agents: tuple[tuple[str, str], ...]  # (name, audit label), round robin
    products: tuple[tuple[int, int, int], ...]  # (id, price in cents, popularity)
    carrier: str | None  # the connected carrier most orders use; None: all local
    tracking_prefix: str
    max_attempts: int
    pending_after: int  # carrier confirmations from then on still wait for the worker
    names: tuple[str, ...]
    cities: tuple[str, ...]
    city_weights: tuple[int, ...]  # cumulative
    addresses: tuple[tuple[str, ...], ...]  # per city, same length
    notes: tuple[tuple[str, ...], ...]  # order, call later, cancel, fake
    phone_prefixes: tuple[str, ...]
    phone_a: int  # n -> (n * a + b) mod space: distinct refs, distinct phones
    phone_b: int
    tracking_b: int


@dataclass(frozen=True)
class Part:
    """A slice of a seed's orders with its own random stream: the data never depends on which
    process makes which part."""

    index: int
    first: int  # position of its first order in the seed
    count: int


@dataclass(frozen=True)
class Staged:
    taken: Counter[int]  # units out of stock per product (confirmations)
    returned: Counter[int]  # units back (returns)


class TimeText:
    """`to_stored` for epoch seconds in [first, last], by table look-up (ten times an order)."""

    def __init__(self, first: int, last: int) -> None:
        self.first_day = first // DAY
        self.days = [
            to_stored(datetime.fromtimestamp(day * DAY, UTC))[:11]
            for day in range(self.first_day, last // DAY + 2)
        ]
        self.clock = _clock_texts()

    def __call__(self, moment: int) -> str:
        return self.days[moment // DAY - self.first_day] + self.clock[moment % DAY]


@cache
def _clock_texts() -> tuple[str, ...]:
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY))


def stage_parts(world: World, parts: Sequence[Part], path: Path) -> Staged:
    """Live the orders of `parts` and write their rows to a new staging file at `path`."""
    taken: Counter[int] = Counter()
    returned: Counter[int] = Counter()
    conn = bulk.open_stage(path)
    try:
        for part in parts:
            rows = _Rows()
            _live(world, part, rows, taken, returned)
            bulk.stage(conn, "orders", rows.orders)
            bulk.stage(conn, "order_items", rows.items)
            bulk.stage(conn, "status_events", rows.events)
            bulk.stage(conn, "outbox", rows.outbox)
            bulk.stage(conn, "movements", rows.movements)
    finally:
        bulk.close_stage(conn)
    return Staged(taken, returned)


class _Rows:
    """One part's rows, each table's values end to end (see `store.bulk` for the columns)."""

    def __init__(self) -> None:
        self.orders: list[object] = []
        self.items: list[object] = []
        self.events: list[object] = []
        self.outbox: list[object] = []
        self.movements: list[object] = []


def created_times(rng: random.Random, count: int, start: int, end: int) -> list[int]:
    """`count` order times in [start, end], busier in the evening (local time), sorted."""
    hours = (1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 9, 8, 7, 7, 8, 9, 10, 12, 14, 14, 11, 5)
    cumulative = list(accumulate(hours))
    total, random_ = cumulative[-1], rng.random
    first_day = (start + MOROCCO) // DAY * DAY - MOROCCO
    span = (end - first_day) // DAY + 1
    times: list[int] = []
    while len(times) < count:
        hour = bisect(cumulative, random_() * total)
        moment = first_day + int(random_() * span) * DAY + hour * HOUR + int(random_() * HOUR)
        if start <= moment <= end:
            times.append(moment)
    times.sort()
    return times


def _live(
    world: World, part: Part, rows: _Rows, taken: Counter[int], returned: Counter[int]
) -> None:
    rng = random.Random(f"{world.seed}:{part.index}")
    now, span = world.now, world.now - world.start
    window = (
        world.start + span * part.first // world.count,
        world.start + span * (part.first + part.count) // world.count,
    )
    random_ = rng.random
    times = TimeText(world.start - 10 * DAY, now + 10 * DAY)
    # `times(m)`, inlined below as `day[m // 86400 - d0] + clock[m % 86400]`.
    day, d0, clock = times.days, times.first_day, times.clock
    max_attempts = world.max_attempts
    agents, n_agents = world.agents, len(world.agents)
    names, n_names = world.names, len(world.names)
    cities, city_weights = world.cities, world.city_weights
    city_total = city_weights[-1]
    addresses, n_addresses = world.addresses, len(world.addresses[0])
    phones, space = world.phone_prefixes, len(world.phone_prefixes) * 1_000_000
    phone_a, phone_b, tracking_b = world.phone_a, world.phone_b, world.tracking_b
    product_ids = [p[0] for p in world.products]
    prices = [p[1] for p in world.products]
    product_weights = list(accumulate(p[2] for p in world.products))
    product_total = product_weights[-1]
    most_lines = min(3, len(product_ids))
    carrier, pending_after = world.carrier, world.pending_after
    tracking_format = world.tracking_prefix + "%010d"
    carrier_label = Actor.carrier(carrier).label if carrier else ""
    system = Actor.system().label
    carrier_journeys = [steps for _, steps in CARRIER_JOURNEYS]
    carrier_weights = list(accumulate(w for w, _ in CARRIER_JOURNEYS))
    local_journeys = [steps for _, steps in LOCAL_JOURNEYS]
    local_weights = list(accumulate(w for w, _ in LOCAL_JOURNEYS))
    order_notes, callback_notes, cancel_notes, fake_notes = world.notes
    orders, items, events = rows.orders.extend, rows.items.extend, rows.events.extend
    outbox, movements = rows.outbox.extend, rows.movements.extend
    ref_format = REF_PREFIX + "%07d"
    opening, closing, exp = OPENING, CLOSING, EXP

    def office(moment: int) -> int:
        """The next moment people are at work (calls and hand moves happen then)."""
        local = (moment + MOROCCO) % 86400
        if local < opening:
            return moment + opening - local + int(random_() * 7200)
        if local >= closing:
            return moment + 86400 - local + opening + int(random_() * 7200)
        return moment

    for k, born in enumerate(created_times(rng, part.count, *window), start=part.first):
        order_id, number = world.first_id + k, world.first_number + k
        agent, label = agents[k % n_agents]
        ref = ref_format % number
        phone_n = (number * phone_a + phone_b) % space
        # %-formatting: twice as fast as an f-string with a format spec, a million times.
        phone = "+212%s%06d" % (phones[phone_n // 1_000_000], phone_n % 1_000_000)  # noqa: UP031
        city_i = bisect(city_weights, random_() * city_total)
        local_delivery = carrier is None or random_() < 0.15

        # Items: 1-3 different products, popular ones more often.
        r = random_()
        want = min(1 if r < 0.7 else 2 if r < 0.92 else 3, most_lines)
        picked: list[int] = []
        while len(picked) < want:
            p = bisect(product_weights, random_() * product_total)
            if p not in picked:
                picked.append(p)
        total, units = 0, []
        for line, p in enumerate(picked, 1):
            r = random_()
            qty = 1 if r < 0.85 else 2 if r < 0.97 else 3
            items((order_id, line, product_ids[p], qty, prices[p]))
            units.append((product_ids[p], qty))
            total += qty * prices[p]

        # The calls: some unanswered, maybe a callback, then the customer's answer.
        r = random_()
        final: str | None
        if r < 0.07:
            final, misses = FAKE, 0 if random_() < 0.7 else 1
        else:
            misses = bisect(MISSES, random_() * MISSES[-1])
            if r < 0.23:
                final = CANCELED
            elif r < 0.87:
                final = CONFIRMED
            else:  # never reached: an agent gives up, or it still waits in the queue
                misses = 3 + int(random_() * 4)
                final = CANCELED if random_() < 0.6 else None
        plan = [NO_ANSWER] * misses
        if final is not None:
            plan.append(final)
            if random_() < 0.2:
                plan.insert(int(random_() * len(plan)), CALL_LATER)
        status, attempts, tried, callback, applied, updated = NEW, 0, 0, 0, 0, born
        moment = born + 300 + int(3 * HOUR * exp[int(random_() * 1024)])
        for to in plan:
            moment = office(moment)
            if moment > now:
                break
            note = ""
            if to == NO_ANSWER:
                attempts += 1
                tried, callback = moment, 0
            elif to == CALL_LATER:
                tried = moment
                callback = office(moment + CALLBACK_HOURS[int(random_() * 8)] * HOUR)
                if random_() < 0.5:
                    note = callback_notes[int(random_() * len(callback_notes))]
            else:
                callback = 0
                if to == FAKE:
                    note = fake_notes[int(random_() * len(fake_notes))]
                elif to == CANCELED:
                    if final is None:
                        note = f"Injoignable après {attempts} appels"
                    elif random_() < 0.6:
                        note = cancel_notes[int(random_() * len(cancel_notes))]
            at = day[moment // 86400 - d0] + clock[moment % 86400]
            events((order_id, CONF, status, to, label, MANUAL, note, "", 0, at))
            status, updated = to, moment
            applied += 1
            if to == NO_ANSWER:
                if max_attempts and attempts >= max_attempts:
                    # The service's automatic cancel, in the same transaction as the call.
                    note = f"no answer after {attempts} attempts (limit {max_attempts})"
                    events((order_id, CONF, NO_ANSWER, CANCELED, system, AUTO, note, "", 0, at))
                    status = CANCELED
                    applied += 1
                    break
                moment += HOUR + int(5 * HOUR * exp[int(random_() * 1024)])
            elif to == CALL_LATER:
                # Agents get to a callback late when the queue is long: due ones wait in it.
                moment = callback + int(3 * HOUR * exp[int(random_() * 1024)])
            else:
                break

        # The parcel: stock out, the outbox job, then its journey as far as it got.
        shipping = tracking = sync = last_carrier = ""
        if status == CONFIRMED:
            confirmed_at, shipping = updated, CREATED
            at = day[confirmed_at // 86400 - d0] + clock[confirmed_at % 86400]
            # As StatusService: shipping's own row, from nothing, in the same move.
            events((order_id, SHIP, None, CREATED, label, MANUAL, "", "", 0, at))
            for product_id, qty in units:
                movements((confirmed_at, product_id, -qty, TAKEN, order_id, label, at))
                taken[product_id] += qty
            steps: tuple[Step, ...] = ()
            if local_delivery:
                steps = local_journeys[bisect(local_weights, random_() * local_weights[-1])]
            elif confirmed_at >= pending_after:
                sync = PENDING
                outbox((order_id, carrier, 0, at, "", at))
            else:
                updated = confirmed_at + 60 + int(random_() * 1140)  # the worker's sync
                sync = SYNCED
                tracking = tracking_format % ((order_id * 7_654_321_013 + tracking_b) % 10**10)
                synced = day[updated // 86400 - d0] + clock[updated % 86400]
                outbox((order_id, carrier, 1, at, synced, at))
                steps = carrier_journeys[bisect(carrier_weights, random_() * carrier_weights[-1])]
            moment, seen = updated, 0
            for to, who, least, most in steps:
                moment += least + int(random_() * (most - least))
                if who == CARRIER:
                    if moment > now:
                        break
                    seen += 1
                    at = last_carrier = day[moment // 86400 - d0] + clock[moment % 86400]
                    event_id = f"{tracking}-{seen}"
                    events(
                        (
                            order_id,
                            SHIP,
                            shipping,
                            to,
                            carrier_label,
                            BY_CARRIER,
                            "",
                            event_id,
                            0,
                            at,
                        )
                    )
                else:
                    moment = office(moment)
                    if moment > now:
                        break
                    at = day[moment // 86400 - d0] + clock[moment % 86400]
                    events((order_id, SHIP, shipping, to, label, MANUAL, "", "", 0, at))
                if to == RETURNED:
                    for product_id, qty in units:
                        movements((moment, product_id, qty, PUT_BACK, order_id, label, at))
                        returned[product_id] += qty
                shipping, updated = to, moment
                applied += 1
            else:
                if seen and shipping == DELIVERED and random_() < 0.01:
                    # A late scan after delivery: the timeline keeps it, marked ignored.
                    moment += HOUR + int(random_() * DAY)
                    if moment <= now:
                        # Refused, yet seen: the service keeps its time as the newest event's.
                        at = last_carrier = day[moment // 86400 - d0] + clock[moment % 86400]
                        event_id = f"{tracking}-{seen + 1}"
                        why = _refusal(ref)
                        events(
                            (
                                order_id,
                                SHIP,
                                DELIVERED,
                                IN_RETURN,
                                carrier_label,
                                BY_CARRIER,
                                why,
                                event_id,
                                1,
                                at,
                            )
                        )

        orders(
            (
                order_id,
                ref,
                SOURCE,
                day[born // 86400 - d0] + clock[born % 86400],
                names[int(random_() * n_names)],
                phone,
                cities[city_i],
                addresses[city_i][int(random_() * n_addresses)],
                LOCAL_DELIVERY if local_delivery else carrier,
                order_notes[int(random_() * len(order_notes))] if random_() < 0.08 else "",
                status,
                shipping,
                tracking,
                sync,
                attempts,
                day[tried // 86400 - d0] + clock[tried % 86400] if tried else "",
                day[callback // 86400 - d0] + clock[callback % 86400]
                if status == CALL_LATER
                else "",
                agent,
                total,
                1 + applied,
                day[updated // 86400 - d0] + clock[updated % 86400],
                last_carrier,
            )
        )


def _refusal(ref: str) -> str:
    """What `StatusService` notes on a carrier event after delivery: its exact refusal."""
    try:
        check_move(ref, StatusKind.SHIPPING, S.DELIVERED, S.IN_RETURN, Mover.CARRIER)
    except MoveNotAllowed as refusal:
        return str(refusal)
    raise AssertionError("the rules let a carrier move a delivered parcel")


def _worker_main(job: Path) -> None:
    """`python -m codspot_tui.services.seed_lives JOB`: stage a job's groups of parts, one
    file each, and print each group's stock counts as a line of JSON once its file is done."""
    world, groups, files = pickle.loads(job.read_bytes())
    for parts, path in zip(groups, files, strict=True):
        staged = stage_parts(world, parts, path)
        print(json.dumps([staged.taken, staged.returned]), flush=True)


if __name__ == "__main__":
    _worker_main(Path(sys.argv[1]))
