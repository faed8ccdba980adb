"""Background jobs as records: requested (once per dedupe key), started once, finished or failed."""
