"""Every raw status each carrier is known to send has a meaning: a move of ours or an Info."""

from __future__ import annotations

import pytest

from codspot_tui.carriers.vocabulary import OZON, SANDBOX, SENDIT, VOCABULARIES, Info, Vocabulary
from codspot_tui.domain.statuses import Shipping
from codspot_tui.sandbox.journeys import VOCABULARY as SANDBOX_WORDS

S = Shipping

# The issue's lists, verbatim.
SENDIT_WORDS = [
    "PENDING",
    "TO_PREPARE",
    "TO_PICKUP",
    "PICKEDUP",
    "WAREHOUSE",
    "TRANSIT",
    "DISTRIBUTED",
    "DELIVERING",
    "SCHEDULED",
    "NEW_DESTINATION",
    "UNREACHABLE",
    "POSTPONED",
    "DELIVERED",
    "CANCELED",
    "REJECTED",
]
OZON_WORDS = [
    "Nouveau Colis",
    "Attente De Ramassage",
    "Ramassé",
    "Reçu",
    "Mise en distribution",
    "En cours de livraison",
    "Livré",
    "Injoignable",
    "Reporté",
    "Refusé",
    "Annulé",
    "Retourné",
]
ISSUE_SANDBOX_WORDS = [
    "pending",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivery_failed",
    "postponed",
    "delivered",
    "refused",
    "returning",
    "cancelled",
]

# The issue's guidance: waiting for pickup -> no change; picked up, in transit, out for
# delivery -> shipped; unreachable, postponed, failed attempt -> package_issue; refused or
# returning -> in_return; cancelled -> canceled; delivered -> delivered; a carrier's
# "returned" is told, never `returned`.
EXPECTED = {
    "sendit": {
        "PENDING": Info.WAITING,
        "TO_PREPARE": Info.WAITING,
        "TO_PICKUP": Info.WAITING,
        "PICKEDUP": S.SHIPPED,
        "WAREHOUSE": S.SHIPPED,
        "TRANSIT": S.SHIPPED,
        "DISTRIBUTED": S.SHIPPED,
        "DELIVERING": S.SHIPPED,
        "NEW_DESTINATION": S.SHIPPED,
        "SCHEDULED": S.PACKAGE_ISSUE,
        "UNREACHABLE": S.PACKAGE_ISSUE,
        "POSTPONED": S.PACKAGE_ISSUE,
        "DELIVERED": S.DELIVERED,
        "CANCELED": S.CANCELED,
        "REJECTED": S.IN_RETURN,
    },
    "ozon": {
        "Nouveau Colis": Info.WAITING,
        "Attente De Ramassage": Info.WAITING,
        "Ramassé": S.SHIPPED,
        "Reçu": S.SHIPPED,
        "Mise en distribution": S.SHIPPED,
        "En cours de livraison": S.SHIPPED,
        "Injoignable": S.PACKAGE_ISSUE,
        "Reporté": S.PACKAGE_ISSUE,
        "Livré": S.DELIVERED,
        "Refusé": S.IN_RETURN,
        "Annulé": S.CANCELED,
        "Retourné": Info.RETURNED_TO_SENDER,
    },
    "sandbox": {
        "pending": Info.WAITING,
        "picked_up": S.SHIPPED,
        "in_transit": S.SHIPPED,
        "out_for_delivery": S.SHIPPED,
        "delivery_failed": S.PACKAGE_ISSUE,
        "postponed": S.PACKAGE_ISSUE,
        "delivered": S.DELIVERED,
        "refused": S.IN_RETURN,
        "returning": S.IN_RETURN,
        "cancelled": S.CANCELED,
    },
}


@pytest.mark.parametrize(
    ("vocabulary", "words"),
    [(SENDIT, SENDIT_WORDS), (OZON, OZON_WORDS), (SANDBOX, ISSUE_SANDBOX_WORDS)],
    ids=["sendit", "ozon", "sandbox"],
)
def test_every_word_of_the_issue_has_a_meaning(vocabulary: Vocabulary, words: list[str]) -> None:
    missing = [word for word in words if vocabulary.meaning(word) is None]
    assert missing == []
    assert {word: vocabulary.meaning(word) for word in words} == EXPECTED[vocabulary.carrier_kind]


def test_the_sandbox_speaks_exactly_the_words_its_table_maps() -> None:
    assert list(SANDBOX_WORDS) == ISSUE_SANDBOX_WORDS
    assert SANDBOX.words == frozenset(SANDBOX_WORDS)


@pytest.mark.parametrize("vocabulary", list(VOCABULARIES.values()), ids=list(VOCABULARIES))
def test_no_carrier_word_sets_a_status_that_is_ours_to_set(vocabulary: Vocabulary) -> None:
    """`returned` waits for the operator (DESIGN §1); `created`/`fulfilled` are ours."""
    meanings = set(vocabulary.table.values())
    assert not meanings & {S.RETURNED, S.CREATED, S.FULFILLED}
    assert None not in meanings


def test_raw_words_are_read_loosely_but_never_guessed() -> None:
    assert OZON.meaning("  livré ") is S.DELIVERED
    assert OZON.meaning("En  cours de\tlivraison") is S.SHIPPED
    assert SENDIT.meaning("delivered") is S.DELIVERED
    assert OZON.meaning("Livre") is None  # no accent, no guess
    assert SENDIT.meaning("RETURNED") is None
    assert SANDBOX.meaning("teleported") is None
