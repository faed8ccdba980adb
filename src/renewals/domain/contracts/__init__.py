"""Contracts, their lines, activation and termination."""
