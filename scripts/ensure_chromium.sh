#!/usr/bin/env bash
# The browser end-to-end test drives Debian's Chromium through Playwright (Playwright's own
# browser download needs the internet). Install it when missing and we are allowed to.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  apt_get="apt-get"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  apt_get="sudo apt-get"
else
  echo "Chromium is missing and cannot be installed without root: run 'sudo apt-get install" \
    "chromium'. The browser end-to-end test will fail until then." >&2
  exit 0
fi
echo "Installing Debian's chromium for the browser end-to-end test..."
$apt_get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq chromium >/dev/null
