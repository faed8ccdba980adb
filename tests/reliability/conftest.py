"""Reliability tests use the jobs tests' real broker (from the root conftest), workers and runtime fixtures."""

from tests.integration.conftest import api  # noqa: F401
from tests.integration.jobs_support import (  # noqa: F401
    actor_runtime,
    job_settings,
    queues,
)
