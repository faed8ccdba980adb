"""Reliability tests drive the API like the integration tests do."""

from tests.integration.conftest import api  # noqa: F401
