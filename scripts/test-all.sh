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
echo "== engine worker in Chromium (wasm vs Node onnxruntime, WebGPU vs wasm), MediaPipe telemetry off"
npx vitest run --config tests/e2e/engine/vitest.config.ts
echo "== browser e2e (wasm: every flow, the static host and offline included)"
node tests/e2e/run.mjs --backend=wasm
# SwiftShader WebGPU is a CPU emulation (seconds per call of the default bundle's U-Net here), so the WebGPU
# run is at 2 steps on the pipeline's code-initialised micro bundle (training/tests/micro_bundle.py; exported
# by the engine test above): the three user flows (upload and sliders; second face and interpolation; random and
# averaged faces with the bad-input messages), the face embedder against the Python goldens, and the
# device-loss fallback (it crashes the GPU process, so it runs last). The one default-bundle WebGPU image is
# the engine test's (WebGPU equals wasm). Only cancel, privacy and the static host are wasm-only here;
# `npm run test:e2e` runs every flow on both backends, on the default bundle.
echo "== browser e2e (WebGPU, micro bundle: the three user flows, extraction, device loss)"
node tests/e2e/run.mjs --backend=webgpu --skip-build --webgpu-steps=2 --webgpu-bundle=micro --only=startup,upload-generate-sliders,interpolation,faces-and-bad-inputs,golden-extraction,webgpu-device-loss
echo "== all tests passed in $(( $(date +%s) - start )) s"
