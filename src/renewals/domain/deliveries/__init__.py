"""Deliveries of alerts: signed webhook POSTs and daily e-mail digests, each recorded once."""
