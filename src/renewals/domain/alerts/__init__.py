"""Early warnings: when the daily scan raises which alert, how severe, under which dedupe key.

The pure rules live in `rules.py` (no session, no I/O, `as_of` passed in); the scan turns
them into set-based queries or calls them per row, and the unique dedupe key keeps every
alert single however often or concurrently the scan runs.
"""
