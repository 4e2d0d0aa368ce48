"""`python -m backend ...`: see backend/cli.py.

This is the CLI's (and `serve`'s) entry point, so it wires the Huey queue into the services;
backend/cli.py itself only talks to the services.
"""

import sys

from backend.cli import main
from jobs.queue import install

install()
sys.exit(main())
