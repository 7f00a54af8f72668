#!/usr/bin/env bash
# Installs everything the tests need: Debian chromium, npm packages, the Python venv for training/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian chromium"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

echo "== npm install"
# Not `npm ci`: vite 8.4 lists a Windows-only optional dependency that the registry does not serve,
# which `npm ci` reports as a lock-file mismatch; `npm install` honours the lock file and skips it.
npm install --no-audit --no-fund

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
echo "== pip install (training/requirements.txt)"
# torch first, pinned, so that nothing pulls a CUDA build.
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/pip install -q --disable-pip-version-check -r training/requirements.txt
.venv/bin/pip install -q --disable-pip-version-check --no-deps -e training
