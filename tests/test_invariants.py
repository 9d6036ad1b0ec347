"""Random sequences of moves and stock adjustments; the invariants of DESIGN §1 after every step.

A model kept here, independently of the code, predicts whether each move applies and what
stock should be on hand; the database must agree with it after every step.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import FrozenClock, Shop
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from test_rules import EXPECTED

from codspot_tui.domain.errors import Refused
from codspot_tui.domain.models import Actor
from codspot_tui.domain.rules import Mover
from codspot_tui.domain.statuses import Confirmation, Role, Shipping, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.status import Move
from codspot_tui.settings import Settings

C, S = Confirmation, Shipping
CONF, SHIP = StatusKind.CONFIRMATION, StatusKind.SHIPPING
BOSS = Actor.agent("boss", Role.ADMIN)
KARIM = Actor.agent("karim", Role.AGENT)
SANDBOX = Actor.carrier("sandbox")
SKUS = ("ARGAN", "SOAP", "HENNA")
# (delivery, items): carrier and local orders, a product on two lines, orders sharing products.
ORDERS = (
    ("sandbox", (("ARGAN", 1),)),
    ("local", (("ARGAN", 2), ("SOAP", 1))),
    ("sandbox", (("SOAP", 1), ("SOAP", 1))),
    ("local", (("HENNA", 1), ("ARGAN", 1))),
    ("sandbox", (("HENNA", 2),)),
)
LOCKED_CONFIRMATION = {C.CANCELED, C.FAKE, C.CONFIRMED}
FINAL_SHIPPING = {S.DELIVERED, S.RETURNED}


@dataclass
class ModelOrder:
    delivery: str
    needs: Counter[str]
    confirmation: Confirmation = C.NEW
    shipping: Shipping | None = None
    applied: int = 0  # moves that changed a status: one timeline row each
    ignored: int = 0  # carrier events recorded as ignored


def _steer(drawn: Any, allowed: frozenset[Any]) -> Any:
    """One of the `allowed` targets, picked by the drawn one, so random walks get somewhere."""
    if not allowed:
        return drawn
    choices = sorted(allowed)
    return choices[list(type(drawn)).index(drawn) % len(choices)]


class OrderLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="codspot-hypothesis-"))
        self.clock = FrozenClock()
        self.services = self.run(
            Services.open(self.folder / "codspot.db", Settings(), create=True, clock=self.clock)
        )
        self.run(self.services.agents.initialise("boss"))
        self.run(self.services.agents.add(BOSS, "karim", Role.AGENT))
        self.initial: dict[str, int] = {}
        self.adjusted: Counter[str] = Counter()
        self.taken: Counter[str] = Counter()
        self.returned: Counter[str] = Counter()
        self.ids: list[int] = []
        self.model: dict[int, ModelOrder] = {}
        self.locked_confirmation: dict[int, Confirmation] = {}
        self.final_shipping: dict[int, Shipping] = {}
        self.event_seq = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.services.close())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def expected_on_hand(self, sku: str) -> int:
        return self.initial[sku] + self.adjusted[sku] - self.taken[sku] + self.returned[sku]

    @initialize(stocks=st.tuples(*[st.integers(1, 6)] * len(SKUS)))
    def open_shop(self, stocks: tuple[int, ...]) -> None:
        shop = Shop(self.services, BOSS)
        for sku, stock in zip(SKUS, stocks, strict=True):
            self.run(self.services.stock.add_product(BOSS, sku, sku.title(), stock=stock))
            self.initial[sku] = stock
        for delivery, items in ORDERS:
            order_id = self.run(shop.order(items=items, delivery=delivery))
            needs: Counter[str] = Counter()
            for sku, qty in items:
                needs[sku] += qty
            self.ids.append(order_id)
            self.model[order_id] = ModelOrder(delivery, needs)

    # --- rules ---------------------------------------------------------------------------------

    def _try(self, actor: Actor, move: Move) -> bool:
        try:
            return bool(self.run(self.services.status.apply(actor, move)).applied)
        except Refused:
            return False

    def _agent_mover(self, order: ModelOrder) -> Mover:
        return Mover.LOCAL_OPERATOR if order.delivery == "local" else Mover.OPERATOR

    @rule(
        index=st.integers(0, len(ORDERS) - 1),
        # Confirming is what opens the shipping side: draw it more often.
        to=st.sampled_from([*Confirmation, C.CONFIRMED, C.CONFIRMED]),
        legal=st.booleans(),
        who=st.sampled_from(["agent", "admin-force", "system"]),
    )
    def confirmation_move(self, index: int, to: Confirmation, legal: bool, who: str) -> None:
        order_id = self.ids[index]
        order = self.model[order_id]
        actor, mover, force = {
            "agent": (KARIM, self._agent_mover(order), False),
            "admin-force": (BOSS, Mover.FORCE, True),
            "system": (Actor.system(), Mover.SYSTEM, False),
        }[who]
        if legal:
            to = _steer(to, EXPECTED[CONF][mover][order.confirmation])
        expect = to in EXPECTED[CONF][mover][order.confirmation]
        if expect and to is C.CONFIRMED and not force:
            expect = all(self.expected_on_hand(sku) >= n for sku, n in order.needs.items())
        move = Move(
            order_id,
            CONF,
            to,
            note="admin says so" if force else None,
            callback_at=self.clock() + timedelta(hours=1),
            force=force,
        )
        applied = self._try(actor, move)
        assert applied == expect, f"{who}: {order.confirmation} -> {to}: applied={applied}"
        if applied:
            order.confirmation = to
            order.applied += 1
            if to is C.CONFIRMED:
                order.shipping = S.CREATED
                order.applied += 1  # shipping changed too, from nothing: a row of its own
                self.taken.update(order.needs)

    @rule(
        index=st.integers(0, len(ORDERS) - 1),
        to=st.sampled_from(list(Shipping)),
        legal=st.booleans(),
        any_order=st.booleans(),
        who=st.sampled_from(["operator", "carrier", "admin-force"]),
    )
    def shipping_move(
        self, index: int, to: Shipping, legal: bool, any_order: bool, who: str
    ) -> None:
        # Mostly an order that has a parcel; sometimes any order, to see the refusals.
        parcels = [i for i in self.ids if self.model[i].shipping is not None]
        order_id = self.ids[index] if any_order or not parcels else parcels[index % len(parcels)]
        order = self.model[order_id]
        self.clock.advance(minutes=1)
        if legal and order.shipping is not None:
            mover = {
                "operator": self._agent_mover(order),
                "carrier": Mover.CARRIER,
                "admin-force": Mover.FORCE,
            }[who]
            to = _steer(to, EXPECTED[SHIP][mover][order.shipping])
        if who == "carrier" and order.delivery == "sandbox" and order.shipping is not None:
            self._carrier_event(order_id, order, to)
            return
        if who == "carrier":
            # Not a parcel of this carrier (local, or not confirmed): refused outright.
            actor, mover, force = SANDBOX, Mover.CARRIER, False
            expect = False
        else:
            actor, mover, force = {
                "operator": (KARIM, self._agent_mover(order), False),
                "admin-force": (BOSS, Mover.FORCE, True),
            }[who]
            expect = order.shipping is not None and to in EXPECTED[SHIP][mover][order.shipping]
        move = Move(order_id, SHIP, to, note="admin says so" if force else None, force=force)
        applied = self._try(actor, move)
        assert applied == expect, f"{who}: {order.shipping} -> {to}: applied={applied}"
        if applied:
            self._shipped(order, to)

    def _carrier_event(self, order_id: int, order: ModelOrder, to: Shipping) -> None:
        assert order.shipping is not None
        self.event_seq += 1
        move = Move(order_id, SHIP, to, carrier_event_id=f"ev-{self.event_seq}", at=self.clock())
        (result,) = self.run(self.services.status.apply_batch(SANDBOX, [move]))
        if to == order.shipping:
            expect = False  # the status it already has: nothing at all is written
        else:
            expect = to in EXPECTED[SHIP][Mover.CARRIER][order.shipping]
            if not expect:
                order.ignored += 1
        assert result.applied == expect, f"carrier: {order.shipping} -> {to}: {result}"
        if result.applied:
            self._shipped(order, to)

    def _shipped(self, order: ModelOrder, to: Shipping) -> None:
        order.shipping = to
        order.applied += 1
        if to is S.RETURNED:
            self.returned.update(order.needs)

    @rule(sku=st.sampled_from(SKUS), delta=st.integers(-3, 3).filter(bool))
    def adjust_stock(self, sku: str, delta: int) -> None:
        expect = self.expected_on_hand(sku) + delta >= 0
        try:
            self.run(self.services.stock.adjust(BOSS, sku, delta, "counted the shelf"))
            done = True
        except Refused:
            done = False
        assert done == expect
        if done:
            self.adjusted[sku] += delta

    # --- invariants ----------------------------------------------------------------------------

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.run(self.services.db.fetchall(sql, params))]

    @invariant()
    def statuses_follow_the_model_and_final_states_hold(self) -> None:
        if not self.ids:
            return
        for order_id, confirmation, shipping in self.rows(
            "SELECT id, confirmation, shipping FROM orders ORDER BY id"
        ):
            order = self.model[order_id]
            assert (confirmation, shipping) == (order.confirmation, order.shipping)
            # The shipping status is NULL exactly until the order is confirmed.
            assert (shipping is None) == (confirmation != C.CONFIRMED)
            if order_id in self.locked_confirmation:
                assert confirmation == self.locked_confirmation[order_id]
            elif confirmation in LOCKED_CONFIRMATION:
                self.locked_confirmation[order_id] = Confirmation(confirmation)
            if order_id in self.final_shipping:
                assert shipping == self.final_shipping[order_id]
            elif shipping in FINAL_SHIPPING:
                self.final_shipping[order_id] = Shipping(shipping)

    @invariant()
    def stock_is_the_ledger_and_the_model(self) -> None:
        sums = dict(
            self.rows(
                """SELECT p.sku, COALESCE(SUM(m.delta), 0) FROM products p
                   LEFT JOIN stock_movements m ON m.product_id = p.id GROUP BY p.sku"""
            )
        )
        for sku, on_hand in self.rows("SELECT sku, on_hand FROM products"):
            assert on_hand == sums[sku] == self.expected_on_hand(sku), sku

    @invariant()
    def stock_moves_at_most_once_per_order_product_and_reason(self) -> None:
        repeated = self.rows(
            """SELECT order_id, product_id, reason, count(*) FROM stock_movements
               WHERE order_id IS NOT NULL GROUP BY order_id, product_id, reason
               HAVING count(*) > 1"""
        )
        assert repeated == []

    @invariant()
    def one_timeline_row_per_applied_move(self) -> None:
        counts = {
            (order_id, ignored): n
            for order_id, ignored, n in self.rows(
                "SELECT order_id, ignored, count(*) FROM status_events GROUP BY order_id, ignored"
            )
        }
        for order_id, order in self.model.items():
            assert counts.get((order_id, 0), 0) == order.applied, order_id
            assert counts.get((order_id, 1), 0) == order.ignored, order_id


OrderLifecycle.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOrderLifecycle = OrderLifecycle.TestCase
