"""The property tests run under a named Hypothesis profile with no per-example deadline."""

from __future__ import annotations

import os

from hypothesis import settings


def test_the_profile_named_by_the_environment_is_loaded_without_a_deadline() -> None:
    assert settings.get_current_profile_name() == os.environ.get("HYPOTHESIS_PROFILE", "dev")
    assert settings.default.deadline is None


def test_ci_replays_the_same_examples_on_every_run() -> None:
    ci = settings.get_profile("ci")

    assert (ci.derandomize, ci.deadline, ci.database) == (True, None, None)
