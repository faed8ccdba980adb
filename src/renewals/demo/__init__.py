"""The demo book: users, clients, contracts, receivables and renewals in every state, loaded
through the same services as real data (`book` builds it; `receivables` and `renewals` tell
their stories)."""

from renewals.demo.book import DEMO_PASSWORD, DemoResult, is_empty, load, sign_in_help

__all__ = ["DEMO_PASSWORD", "DemoResult", "is_empty", "load", "sign_in_help"]
