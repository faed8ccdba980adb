"""Renewal rules: the state machine, the risk score, permission to renew in dunning, new terms."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from renewals.domain.renewals.rules import (
    CLOSED_STATES,
    OPEN_STATES,
    PIPELINE,
    IllegalTransition,
    TermLine,
    allowed_transitions,
    check_renewal_permission,
    check_transition,
    needs_manager_override,
    overdue_ratio,
    renewal_terms,
    risk_score,
    scan_outcome,
    term_end,
)
from renewals.domain.renewals.rules import (
    RenewalStatus as S,
)
from renewals.errors import Conflict, Forbidden, ValidationFailed


def line(price: str, quantity: str = "1", description: str = "Rack A") -> TermLine:
    return TermLine(description=description, quantity=Decimal(quantity), monthly_unit_price=Decimal(price))


# --------------------------------------------------------------------------------------------
# Transitions
# --------------------------------------------------------------------------------------------


def test_happy_path_steps_through_the_pipeline_to_renewed() -> None:
    path = [S.UPCOMING, S.CONTACTED, S.PROPOSAL_SENT, S.AWAITING_SIGNATURE, S.RENEWED]

    for current, to in pairwise(path):
        assert check_transition(current, to) is to


@pytest.mark.parametrize("state", sorted(OPEN_STATES))
def test_lost_is_reachable_from_every_open_state(state: S) -> None:
    assert check_transition(state, "lost") is S.LOST


@pytest.mark.parametrize("state", sorted(OPEN_STATES))
def test_renewed_is_reachable_from_every_open_state(state: S) -> None:
    assert check_transition(state, "renewed") is S.RENEWED


def test_skipping_forward_is_allowed() -> None:
    assert check_transition("upcoming", "proposal_sent") is S.PROPOSAL_SENT
    assert check_transition("contacted", "awaiting_signature") is S.AWAITING_SIGNATURE


def test_revised_proposal_steps_back_from_awaiting_signature_to_proposal_sent() -> None:
    assert check_transition("awaiting_signature", "proposal_sent") is S.PROPOSAL_SENT


@pytest.mark.parametrize(
    ("current", "to"),
    [("contacted", "upcoming"), ("proposal_sent", "contacted"), ("awaiting_signature", "upcoming")],
)
def test_other_steps_backward_are_refused(current: str, to: str) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, to)


@pytest.mark.parametrize("closed", sorted(CLOSED_STATES))
@pytest.mark.parametrize("to", list(S))
def test_closed_renewal_cannot_be_reopened(closed: S, to: S) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(closed, to, by_system=True)

    assert caught.value.extra["allowed"] == []
    assert "closed" in caught.value.extra["to"]


def test_illegal_transition_is_a_409_listing_the_allowed_targets() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition("proposal_sent", "upcoming")

    error = caught.value
    assert isinstance(error, Conflict)
    assert error.status_code == 409
    assert error.extra["allowed"] == ["awaiting_signature", "renewed", "lost"]
    assert "proposal_sent" in error.extra["to"]
    assert "upcoming" in error.extra["to"]


@pytest.mark.parametrize("to", ["auto_renewed", "lapsed"])
def test_auto_renewed_and_lapsed_are_refused_by_hand(to: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition("upcoming", to)

    assert "daily scan" in caught.value.extra["to"]
    assert to not in caught.value.extra["allowed"]


@pytest.mark.parametrize("to", ["auto_renewed", "lapsed"])
@pytest.mark.parametrize("state", sorted(OPEN_STATES))
def test_the_scan_may_close_any_open_renewal(state: S, to: str) -> None:
    assert check_transition(state, to, by_system=True) == to


def test_staying_in_the_same_state_is_not_a_transition() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition("contacted", "contacted")

    assert "already contacted" in caught.value.extra["to"]


def test_unknown_target_status_is_a_422_naming_the_to_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_transition("upcoming", "signed")

    assert caught.value.status_code == 422
    assert "to" in caught.value.fields


def test_allowed_transitions_are_listed_in_pipeline_order() -> None:
    assert allowed_transitions("upcoming") == (
        S.CONTACTED,
        S.PROPOSAL_SENT,
        S.AWAITING_SIGNATURE,
        S.RENEWED,
        S.LOST,
    )
    assert allowed_transitions("awaiting_signature", by_system=True) == (
        S.PROPOSAL_SENT,
        S.RENEWED,
        S.LOST,
        S.AUTO_RENEWED,
        S.LAPSED,
    )
    assert allowed_transitions("renewed") == ()


@given(current=st.sampled_from(list(S)), to=st.sampled_from(list(S)), by_system=st.booleans())
def test_check_transition_agrees_with_allowed_transitions(current: S, to: S, by_system: bool) -> None:
    allowed = allowed_transitions(current, by_system=by_system)
    if to in allowed:
        assert check_transition(current, to, by_system=by_system) is to
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(current, to, by_system=by_system)
        assert caught.value.extra["allowed"] == [state.value for state in allowed]


def test_every_open_state_can_still_reach_a_closed_state() -> None:
    for state in PIPELINE:
        assert set(allowed_transitions(state)) & CLOSED_STATES


# --------------------------------------------------------------------------------------------
# What the daily scan does after the end date
# --------------------------------------------------------------------------------------------


def test_scan_leaves_a_renewal_alone_on_its_end_date() -> None:
    end = date(2025, 3, 31)

    assert scan_outcome("upcoming", end_date=end, as_of=end, auto_renew=True, terminated=False) is None


def test_scan_auto_renews_an_auto_renew_contract_the_day_after_its_end() -> None:
    end = date(2025, 3, 31)

    outcome = scan_outcome("contacted", end_date=end, as_of=date(2025, 4, 1), auto_renew=True, terminated=False)

    assert outcome is S.AUTO_RENEWED


def test_scan_lapses_an_undecided_non_auto_renew_contract() -> None:
    outcome = scan_outcome(
        "proposal_sent",
        end_date=date(2025, 12, 31),
        as_of=date(2026, 1, 1),
        auto_renew=False,
        terminated=False,
    )

    assert outcome is S.LAPSED


def test_scan_never_auto_renews_a_terminated_contract() -> None:
    outcome = scan_outcome(
        "upcoming", end_date=date(2025, 6, 30), as_of=date(2025, 7, 1), auto_renew=True, terminated=True
    )

    assert outcome is S.LAPSED


@pytest.mark.parametrize("closed", sorted(CLOSED_STATES))
def test_scan_leaves_a_decided_renewal_alone_so_auto_renewal_happens_once(closed: S) -> None:
    outcome = scan_outcome(
        closed, end_date=date(2025, 6, 30), as_of=date(2025, 8, 1), auto_renew=True, terminated=False
    )

    assert outcome is None


# --------------------------------------------------------------------------------------------
# Risk score
# --------------------------------------------------------------------------------------------


def test_a_far_away_renewal_of_a_paying_recently_contacted_client_scores_zero() -> None:
    assert risk_score(200, Decimal(0), 0, 0) == 0


def test_everything_wrong_scores_one_hundred() -> None:
    assert risk_score(0, Decimal(5), 4, None) == 100


def test_risk_score_follows_the_documented_weights() -> None:
    # 35 × 90/180 + 25 × 1.5/3 + 25 × 2/4 + 15 × 30/60 = 17.5 + 12.5 + 12.5 + 7.5
    assert risk_score(90, Decimal("1.5"), 2, 30) == 50


def test_overdue_enters_the_score_the_same_in_any_currency() -> None:
    usd = overdue_ratio(Decimal("2000.00"), Decimal("1000.00"))
    krw = overdue_ratio(Decimal(2_600_000), Decimal(1_300_000))

    assert usd == krw == 2
    assert risk_score(60, usd, 1, 10) == risk_score(60, krw, 1, 10)


def test_overdue_without_monthly_value_counts_as_the_cap_and_a_credit_as_nothing() -> None:
    assert overdue_ratio(Decimal(10), Decimal(0)) == 3
    assert overdue_ratio(Decimal(-50), Decimal(100)) == 0


def test_no_activity_ever_counts_as_full_silence() -> None:
    assert risk_score(180, Decimal(0), 0, None) == risk_score(180, Decimal(0), 0, 60) == 15


days_left_st = st.integers(min_value=-400, max_value=800)
ratio_st = st.decimals(min_value=-5, max_value=10, allow_nan=False, allow_infinity=False, places=2)
level_st = st.integers(min_value=-1, max_value=6)
silence_st = st.one_of(st.none(), st.integers(min_value=-5, max_value=400))


@given(days_left=days_left_st, ratio=ratio_st, level=level_st, silence=silence_st)
def test_risk_score_stays_between_0_and_100(days_left: int, ratio: Decimal, level: int, silence: int | None) -> None:
    assert 0 <= risk_score(days_left, ratio, level, silence) <= 100


@given(days_left=days_left_st, ratio=ratio_st, level=level_st, silence=silence_st)
def test_risk_never_falls_as_things_get_worse(days_left: int, ratio: Decimal, level: int, silence: int | None) -> None:
    base = risk_score(days_left, ratio, level, silence)
    longer_silence = None if silence is None else silence + 1

    assert risk_score(days_left - 1, ratio, level, silence) >= base
    assert risk_score(days_left, ratio + 1, level, silence) >= base
    assert risk_score(days_left, ratio, level + 1, silence) >= base
    assert risk_score(days_left, ratio, level, longer_silence) >= base


# --------------------------------------------------------------------------------------------
# Permission to renew in dunning
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "needed"), [(0, False), (2, False), (3, True), (4, True)])
def test_manager_override_is_needed_from_dunning_level_3(level: int, needed: bool) -> None:
    assert needs_manager_override(level) is needed


def test_account_manager_renews_a_client_below_level_3_without_a_reason() -> None:
    assert check_renewal_permission(2, "account_manager", None) is False


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_account_manager_cannot_renew_a_level_3_client_without_an_override_reason(reason: str | None) -> None:
    with pytest.raises(Forbidden) as caught:
        check_renewal_permission(3, "account_manager", reason)

    assert caught.value.status_code == 403
    assert "dunning level 3" in caught.value.detail
    assert "override_reason" in caught.value.extra


def test_account_manager_override_with_a_reason_is_reported_for_the_audit_log() -> None:
    assert check_renewal_permission(4, "account_manager", "CFO promised payment on signing") is True


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_renew_at_any_dunning_level_without_a_reason(role: str) -> None:
    assert check_renewal_permission(4, role, None) is False


def test_finance_cannot_renew_contracts() -> None:
    with pytest.raises(Forbidden):
        check_renewal_permission(0, "finance", None)


# --------------------------------------------------------------------------------------------
# New terms
# --------------------------------------------------------------------------------------------


def test_new_term_starts_the_day_after_the_old_end_and_runs_twelve_months() -> None:
    terms = renewal_terms(date(2025, 3, 31), 12, Decimal(0), [line("100.00")], currency="USD")

    assert terms.start_date == date(2025, 4, 1)
    assert terms.end_date == date(2026, 3, 31)


def test_term_across_year_end_ends_on_31_december() -> None:
    terms = renewal_terms(date(2024, 12, 31), 12, Decimal(0), [line("100.00")], currency="USD")

    assert (terms.start_date, terms.end_date) == (date(2025, 1, 1), date(2025, 12, 31))


def test_term_ending_at_month_end_before_a_leap_february_ends_on_29_february() -> None:
    terms = renewal_terms(date(2023, 2, 28), 12, Decimal(0), [line("100.00")], currency="USD")

    assert (terms.start_date, terms.end_date) == (date(2023, 3, 1), date(2024, 2, 29))


def test_term_ending_on_29_february_is_followed_by_one_ending_on_28_february() -> None:
    terms = renewal_terms(date(2024, 2, 29), 12, Decimal(0), [line("100.00")], currency="USD")

    assert (terms.start_date, terms.end_date) == (date(2024, 3, 1), date(2025, 2, 28))


def test_term_starting_on_29_february_is_clamped_like_the_billing_schedule() -> None:
    terms = renewal_terms(date(2024, 2, 28), 12, Decimal(0), [line("100.00")], currency="USD")

    assert terms.start_date == date(2024, 2, 29)
    assert terms.end_date == date(2025, 2, 27)  # the next anchor is 28 Feb 2025


def test_one_month_term_starting_31_january_ends_the_day_before_the_clamped_anchor() -> None:
    assert term_end(date(2025, 1, 31), 1) == date(2025, 2, 27)
    assert term_end(date(2025, 1, 31), 2) == date(2025, 3, 30)


def test_uplift_rounds_each_price_half_up_to_the_minor_unit() -> None:
    terms = renewal_terms(
        date(2025, 6, 30), 12, Decimal("3.5"), [line("100.10"), line("0.50", "4", "Port")], currency="USD"
    )

    # 100.10 × 1.035 = 103.6035 → 103.60; 0.50 × 1.035 = 0.5175 → 0.52
    assert [new.monthly_unit_price for new in terms.lines] == [Decimal("103.60"), Decimal("0.52")]
    assert [new.quantity for new in terms.lines] == [Decimal(1), Decimal(4)]
    assert terms.monthly_value == Decimal("105.68")


def test_uplift_rounds_half_up_not_to_even() -> None:
    terms = renewal_terms(date(2025, 6, 30), 12, Decimal(5), [line("0.50")], currency="USD")

    assert terms.lines[0].monthly_unit_price == Decimal("0.53")  # 0.525 → 0.53


def test_uplift_in_a_zero_decimal_currency_rounds_to_whole_won() -> None:
    terms = renewal_terms(date(2025, 6, 30), 12, Decimal(3), [line("1250050")], currency="KRW")

    assert terms.lines[0].monthly_unit_price == Decimal("1287552")  # 1287551.5 → 1287552


def test_explicit_new_end_date_replaces_term_months() -> None:
    terms = renewal_terms(
        date(2025, 6, 30), None, Decimal(0), [line("10.00")], currency="EUR", new_end=date(2026, 12, 31)
    )

    assert (terms.start_date, terms.end_date) == (date(2025, 7, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("term_months", "new_end", "field"),
    [
        (None, None, "term_months"),
        (12, date(2026, 6, 30), "term_months"),
        (0, None, "term_months"),
        (121, None, "term_months"),
        (None, date(2025, 6, 30), "new_end"),
    ],
)
def test_bad_term_is_a_422_naming_the_field(term_months: int | None, new_end: date | None, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        renewal_terms(date(2025, 6, 30), term_months, Decimal(0), [line("1.00")], currency="USD", new_end=new_end)

    assert field in caught.value.fields


@pytest.mark.parametrize("uplift", ["-100.01", "100.5", "NaN"])
def test_uplift_outside_the_contract_range_is_refused(uplift: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        renewal_terms(date(2025, 6, 30), 12, Decimal(uplift), [line("1.00")], currency="USD")

    assert "uplift_pct" in caught.value.fields


def test_renewal_without_lines_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        renewal_terms(date(2025, 6, 30), 12, Decimal(0), [], currency="USD")

    assert "lines" in caught.value.fields


@given(
    old_end=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    term_months=st.integers(min_value=1, max_value=120),
)
def test_new_term_is_contiguous_and_ends_the_day_before_its_anniversary(old_end: date, term_months: int) -> None:
    terms = renewal_terms(old_end, term_months, Decimal(0), [line("1.00")], currency="USD")

    assert terms.start_date - old_end == timedelta(days=1)
    assert terms.end_date + timedelta(days=1) == terms.start_date + relativedelta(months=term_months)
    assert terms.end_date >= terms.start_date


@given(
    price=st.decimals(min_value=0, max_value=1_000_000, places=2),
    uplift=st.decimals(min_value=-100, max_value=100, places=2),
)
def test_uplifted_price_is_exact_to_the_cent_and_within_half_a_cent(price: Decimal, uplift: Decimal) -> None:
    terms = renewal_terms(date(2025, 6, 30), 12, uplift, [line(str(price))], currency="USD")
    new_price = terms.lines[0].monthly_unit_price
    exact = price * (1 + uplift / 100)

    assert new_price == new_price.quantize(Decimal("0.01"))
    assert abs(new_price - exact) <= Decimal("0.005")
