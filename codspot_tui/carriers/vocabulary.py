"""Each carrier's words for a parcel's state, mapped to ours: data, one table per carrier.

A table lists every raw status the carrier is known to send, under what it means for us
(karrio's habit: lists of raw strings per normalised status). A raw status missing from the
table is *unmapped*: stored and surfaced, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ..domain.statuses import Shipping


class Info(StrEnum):
    """Carrier states that move nothing of ours."""

    WAITING = "waiting"  # registered, waiting for pickup: our `created` already says so
    RETURNED_TO_SENDER = "returned_to_sender"  # the carrier says it is back: the operator checks


Meaning = Shipping | Info | None  # None: unmapped


_SEEN_WORDS_KEPT = 1000  # a carrier sending endless new words must not grow the cache


@dataclass(frozen=True)
class Vocabulary:
    carrier_kind: str
    table: Mapping[str, Meaning]
    _seen: dict[str, Meaning] = field(default_factory=dict, compare=False, repr=False)

    def meaning(self, raw: str) -> Meaning:
        # Polling reads the same few words over and over: remember them as they came.
        try:
            return self._seen[raw]
        except KeyError:
            found = self.table.get(_key(raw))
            if len(self._seen) < _SEEN_WORDS_KEPT:
                self._seen[raw] = found
            return found

    @property
    def words(self) -> frozenset[str]:
        return frozenset(self.table)


def _key(raw: str) -> str:
    return " ".join(raw.strip().casefold().split())


def vocabulary(kind: str, groups: Mapping[Shipping | Info, Iterable[str]]) -> Vocabulary:
    table: dict[str, Meaning] = {}
    for meaning, words in groups.items():
        for word in words:
            if _key(word) in table:
                raise ValueError(f"{kind}: {word!r} listed twice")
            table[_key(word)] = meaning
    return Vocabulary(kind, table)


S = Shipping

SANDBOX = vocabulary(
    "sandbox",
    {
        Info.WAITING: ["pending"],
        S.SHIPPED: ["picked_up", "in_transit", "out_for_delivery"],
        S.PACKAGE_ISSUE: ["delivery_failed", "postponed"],
        S.DELIVERED: ["delivered"],
        S.IN_RETURN: ["refused", "returning"],
        S.CANCELED: ["cancelled"],
    },
)

SENDIT = vocabulary(
    "sendit",
    {
        Info.WAITING: ["PENDING", "TO_PREPARE", "TO_PICKUP"],
        S.SHIPPED: [
            "PICKEDUP",
            "WAREHOUSE",
            "TRANSIT",
            "DISTRIBUTED",
            "DELIVERING",
            "NEW_DESTINATION",
        ],
        S.PACKAGE_ISSUE: ["UNREACHABLE", "POSTPONED", "SCHEDULED"],
        S.DELIVERED: ["DELIVERED"],
        S.IN_RETURN: ["REJECTED"],
        S.CANCELED: ["CANCELED"],
    },
)

OZON = vocabulary(
    "ozon",
    {
        Info.WAITING: ["Nouveau Colis", "Attente De Ramassage"],
        S.SHIPPED: ["Ramassé", "Reçu", "Mise en distribution", "En cours de livraison"],
        S.PACKAGE_ISSUE: ["Injoignable", "Reporté"],
        S.DELIVERED: ["Livré"],
        S.IN_RETURN: ["Refusé"],
        S.CANCELED: ["Annulé"],
        Info.RETURNED_TO_SENDER: ["Retourné"],
    },
)

VOCABULARIES: dict[str, Vocabulary] = {v.carrier_kind: v for v in (SANDBOX, SENDIT, OZON)}
