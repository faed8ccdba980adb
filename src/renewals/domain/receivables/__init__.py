"""Receivables: billing schedules, payment allocation and aging.

The modules here are pure: they take dates and amounts in and hand decisions back, so that
services can load, decide with them and persist, and tests can replay any day.
"""
