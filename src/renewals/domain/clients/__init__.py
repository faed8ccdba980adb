"""Clients, their contacts, legal-name uniqueness and ABC tiers."""
