#!/usr/bin/env bash
# Start Courtside: set up .venv if needed, then the analysis worker, the dashboard
# on http://localhost:8501 and the REST API on http://127.0.0.1:8000. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
export PYTHONUNBUFFERED=1
port=${NETBALL_PORT:-8501}
api_port=${NETBALL_API_PORT:-8000}

.venv/bin/python -m backend init

# setsid: Ctrl-C reaches only this script, which then stops both children itself. Huey would
# otherwise treat SIGINT as "finish running jobs first" and Ctrl-C could hang for minutes;
# jobs interrupted this way are picked up again when the worker next starts.
setsid .venv/bin/python huey_worker.py &
worker_pid=$!
setsid .venv/bin/streamlit run streamlit_app.py --server.port "$port" --server.headless true &
ui_pid=$!
setsid .venv/bin/python -m backend serve &
api_pid=$!

stop() {
  trap - INT TERM EXIT
  echo "Stopping Courtside..."
  kill -TERM "$worker_pid" "$ui_pid" "$api_pid" 2>/dev/null || true
  wait "$worker_pid" "$ui_pid" "$api_pid" 2>/dev/null || true
}
trap stop INT TERM EXIT

echo "Courtside: dashboard on http://localhost:$port, API on port $api_port (docs at /docs)," \
  "worker pid $worker_pid. Ctrl-C to stop."
# If any process dies, stop the others instead of leaving part of the product running.
wait -n "$worker_pid" "$ui_pid" "$api_pid" || true
