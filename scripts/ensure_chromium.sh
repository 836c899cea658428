#!/usr/bin/env bash
# Make sure the system Chromium that tests/acceptance/test_site.py drives exists (/usr/bin/chromium).
# The browser tests never download a browser (no `playwright install`): they use Debian's.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

install_cmd='apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'
if [ "$(id -u)" -eq 0 ]; then
  echo "[ensure_chromium] $CHROMIUM missing: installing Debian's chromium with apt-get"
  bash -c "$install_cmd"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  echo "[ensure_chromium] $CHROMIUM missing: installing Debian's chromium with sudo apt-get"
  sudo -n bash -c "$install_cmd"
else
  echo "[ensure_chromium] $CHROMIUM is missing and this user cannot install it (not root, no" \
       "passwordless sudo). Install it with: sudo apt-get install chromium" >&2
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "[ensure_chromium] apt-get finished but $CHROMIUM still does not exist" >&2
  exit 1
fi
