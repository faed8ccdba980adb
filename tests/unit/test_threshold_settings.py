"""RENEWALS_RENEWAL_THRESHOLDS, RENEWALS_NOTICE_DEADLINE_DAYS and RENEWALS_DUNNING_DAYS: defaults, values, refusals."""

from __future__ import annotations

import pytest

from renewals.settings import load


@pytest.fixture(autouse=True)
def _secret(monkeypatch, tmp_path):
    monkeypatch.setenv("RENEWALS_SECRET_KEY", "test-secret")
    monkeypatch.setenv("RENEWALS_DATA_DIR", str(tmp_path))
    for name in ("RENEWALS_RENEWAL_THRESHOLDS", "RENEWALS_NOTICE_DEADLINE_DAYS", "RENEWALS_DUNNING_DAYS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_specifications():
    s = load()

    assert (s.renewal_thresholds, s.notice_deadline_days, s.dunning_days) == ((90, 60, 30, 7), 14, (1, 15, 30, 60))


def test_values_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("RENEWALS_RENEWAL_THRESHOLDS", "120,30")
    monkeypatch.setenv("RENEWALS_NOTICE_DEADLINE_DAYS", "21")
    monkeypatch.setenv("RENEWALS_DUNNING_DAYS", "3,10,20,40")

    s = load()

    assert (s.renewal_thresholds, s.notice_deadline_days, s.dunning_days) == ((120, 30), 21, (3, 10, 20, 40))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RENEWALS_RENEWAL_THRESHOLDS", "90,x"),
        ("RENEWALS_RENEWAL_THRESHOLDS", "30,30"),
        ("RENEWALS_RENEWAL_THRESHOLDS", "-1"),
        ("RENEWALS_NOTICE_DEADLINE_DAYS", "14,7"),
        ("RENEWALS_DUNNING_DAYS", "1,15,30"),
        ("RENEWALS_DUNNING_DAYS", "0,15,30,60"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=name):
        load()
