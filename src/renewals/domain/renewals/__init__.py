"""Renewals: the state machine, risk ordering, permission to renew and the new terms.

The pure rules live in `rules.py` (no session, no I/O, `as_of` passed in); services load
rows, decide with them and persist.
"""
