"""Scheduler process entry point: `python workers/scheduler.py [--tick SECONDS]`.

The same as `renewals scheduler`. Running two by mistake doubles nothing (see renewals.jobs.scheduler).
"""

import sys

from renewals.cli import main

if __name__ == "__main__":
    sys.exit(main(["scheduler", *sys.argv[1:]]))
