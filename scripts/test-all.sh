#!/usr/bin/env bash
# The one command that installs what is needed and runs every test (README; .ci/run calls it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
start=$(date +%s)
echo "== typecheck";        npx tsc --noEmit -p tsconfig.json
echo "== ruff";             .venv/bin/ruff check training && .venv/bin/ruff format --check training
echo "== vitest";           npx vitest run
echo "== pytest";           (cd training && ../.venv/bin/python -m pytest -q)
echo "== browser e2e";      npm run test:e2e
echo "== all tests passed in $(( $(date +%s) - start )) s"
