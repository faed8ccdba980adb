"""The service log: our own INFO lines, and WARNING and above from everything else.

WeasyPrint reports every stylesheet and font it loads at INFO, and fontTools every table it
subsets: hundreds of lines for a handful of notices, burying what the service itself says.
Third-party loggers inherit the root's WARNING; the `renewals` loggers say INFO. The processes
`renewals run` starts (API, workers, scheduler) all use this one configuration.
"""

from __future__ import annotations

import logging.config
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ROOT_LEVEL = "WARNING"
OUR_LEVEL = "INFO"
# Named as well as covered by the root level: they talk the most, and say so at INFO.
QUIET = ("weasyprint", "fontTools", "dramatiq", "httpx")


def loggers() -> dict[str, dict[str, Any]]:
    """Levels by logger name, for `logging.config.dictConfig` (and Litestar's LoggingConfig)."""
    return {"renewals": {"level": OUR_LEVEL}, **{name: {"level": ROOT_LEVEL} for name in QUIET}}


def configure() -> None:
    """Set the process's logging: one stderr handler on the root, the levels above."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"standard": {"format": FORMAT}},
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "standard"}},
            "root": {"handlers": ["console"], "level": ROOT_LEVEL},
            "loggers": loggers(),
        }
    )
