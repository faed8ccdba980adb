"""Persistence: engine, unit of work, models."""
