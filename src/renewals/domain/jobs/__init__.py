"""Background jobs as records: requested, started, finished or failed; the scan's fan-out."""
