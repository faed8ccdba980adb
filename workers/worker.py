"""Worker process entry point: `python workers/worker.py [--threads N] [--queues a,b]`.

The same as `renewals worker`; for process managers that start a script rather than a console command.
"""

import sys

from renewals.cli import main

if __name__ == "__main__":
    sys.exit(main(["worker", *sys.argv[1:]]))
