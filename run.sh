#!/usr/bin/env bash
# Start Courtside: set up .venv if needed, then the analysis worker and the dashboard
# on http://localhost:8501. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
export PYTHONUNBUFFERED=1
port=${NETBALL_PORT:-8501}

.venv/bin/python -m backend init

# setsid: Ctrl-C reaches only this script, which then stops both children itself. Huey would
# otherwise treat SIGINT as "finish running jobs first" and Ctrl-C could hang for minutes;
# jobs interrupted this way are picked up again when the worker next starts.
setsid .venv/bin/python huey_worker.py &
worker_pid=$!
setsid .venv/bin/streamlit run streamlit_app.py --server.port "$port" --server.headless true &
ui_pid=$!

stop() {
  trap - INT TERM EXIT
  echo "Stopping Courtside..."
  kill -TERM "$worker_pid" "$ui_pid" 2>/dev/null || true
  wait "$worker_pid" "$ui_pid" 2>/dev/null || true
}
trap stop INT TERM EXIT

echo "Courtside: dashboard on http://localhost:$port, worker pid $worker_pid. Ctrl-C to stop."
# If either process dies, stop the other instead of leaving half a product running.
wait -n "$worker_pid" "$ui_pid" || true
