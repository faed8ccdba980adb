from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from renewals.domain.receivables.ledger import Figures, invoice_number, status_for


def test_untouched_invoice_is_open():
    assert status_for(Figures(100000)) == "open"


def test_some_payment_with_a_balance_left_is_partially_paid():
    assert status_for(Figures(100000, paid=40000)) == "partially_paid"


def test_a_credit_note_alone_does_not_make_an_invoice_partly_paid():
    assert status_for(Figures(100000, credited=40000)) == "open"


def test_nothing_left_to_pay_is_paid_whether_by_payment_or_credit():
    assert status_for(Figures(100000, paid=60000, credited=40000)) == "paid"
    assert status_for(Figures(100000, credited=100000)) == "paid"


def test_a_write_off_that_closed_the_balance_is_written_off():
    assert status_for(Figures(100000, paid=30000, written_off=70000)) == "written_off"


def test_a_bounce_after_a_write_off_reopens_the_debt():
    assert status_for(Figures(100000, paid=0, written_off=70000)) == "open"


def test_a_voided_invoice_is_void_whatever_its_figures():
    assert status_for(Figures(100000, paid=100000), voided=True) == "void"


def test_a_zero_invoice_is_paid_at_once():
    assert status_for(Figures(0)) == "paid"


def test_numbers_are_readable_and_padded():
    assert invoice_number("INV", 2026, 123) == "INV-2026-000123"
    assert invoice_number("CN", 2027, 12345678) == "CN-2027-12345678"


@given(total=st.integers(0, 10**9), paid=st.integers(0, 10**9), credited=st.integers(0, 10**9))
def test_balance_is_total_less_everything_that_counts_against_it(total, paid, credited):
    figures = Figures(total, paid=paid, credited=credited)
    assert figures.balance == total - paid - credited
    assert (status_for(figures) == "paid") == (figures.balance <= 0)
