"""renewals: contract renewal and receivables tracking."""

__version__ = "0.1.0"
