"""The day's pipeline, in one place: what runs each day, in which order, calling down into each
feature (nothing calls back up into it).

* billing (`billing_job`): issue the invoices due through the day;
* the scan (`scan`): `prepare` (the renewal steps in order: end dates synced, records opened,
  auto-renewal, lapse), then `run_chunk` over id ranges of contracts, invoices, renewals and
  clients (alerts raised and resolved, dunning climbed, in set-based statements), then `finish`
  (churn, and the automatic payment reminders when enabled);
* `scan_job` splits the scan into units of work that any number of workers share.
"""
