"""Reliability tests use the jobs tests' real broker, workers and runtime fixtures."""

from tests.integration.conftest import api  # noqa: F401
from tests.integration.jobs_support import (  # noqa: F401
    actor_runtime,
    job_settings,
    jobs_broker,
    queues,
)
