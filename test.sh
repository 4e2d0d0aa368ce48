#!/usr/bin/env bash
# Set up (same as run.sh) and run the whole test suite: lint, format check, unit and
# end-to-end tests (real worker, real SQLite, real video, real browser, and real PostgreSQL +
# Redis servers for the scale-out tests).
# Extra arguments go to pytest, e.g. ./test.sh -k pipeline -x
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
./scripts/ensure_chromium.sh
./scripts/ensure_servers.sh
echo "ruff check..."
.venv/bin/ruff check .
echo "ruff format --check..."
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
