"""Hypothesis runs the same examples on CI every time, and says how to replay a failure."""

from __future__ import annotations

import os

import test_invariants
from conftest import hypothesis_profile_for
from hypothesis import settings


def test_ci_is_told_apart_by_its_environment() -> None:
    assert hypothesis_profile_for({"CI": "true"}) == "ci"
    assert hypothesis_profile_for({"CI": "1"}) == "ci"
    assert hypothesis_profile_for({}) == "dev"
    assert hypothesis_profile_for({"CI": "false"}) == "dev"


def test_the_ci_profile_is_derandomised_and_every_profile_prints_its_blob() -> None:
    ci, dev = settings.get_profile("ci"), settings.get_profile("dev")
    assert ci.derandomize and not dev.derandomize
    assert 50 <= ci.max_examples <= 200  # enough to find things, bounded on a small runner
    assert ci.print_blob and dev.print_blob


def test_the_state_machine_runs_under_the_profile_of_this_environment() -> None:
    # Its own settings (examples, steps) are layered over the loaded profile, not instead.
    ci = hypothesis_profile_for(os.environ) == "ci"
    machine = test_invariants.TestOrderLifecycle.settings
    assert machine.derandomize is ci
    assert machine.print_blob
    assert machine.max_examples == 50
