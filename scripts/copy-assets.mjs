// Copies the runtime files that the engine loads by URL into public/ (both folders are gitignored):
// onnxruntime-web's wasm + its .mjs loader -> public/ort/, and @mediapipe/tasks-vision's wasm ->
// public/mediapipe-wasm/ (not reachable through the package's exports, so it cannot be imported).
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function copyFolder(from, to, keep) {
  if (!existsSync(from)) throw new Error(`copy-assets: ${from} is missing (run npm install)`);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  const names = readdirSync(from).filter(keep);
  for (const name of names) copyFileSync(join(from, name), join(to, name));
  console.log(`copy-assets: ${names.length} files -> ${to}`);
}

copyFolder(
  join(root, 'node_modules/onnxruntime-web/dist'),
  join(root, 'public/ort'),
  // src/engine/ort.ts loads the JSEP build for WebGPU (entry ort.min.mjs) and the wasm-only build for
  // wasm (entry ort.wasm.min.mjs); the asyncify and jspi variants (43 MB) belong to other entries.
  (name) => /^ort-wasm-simd-threaded(\.jsep)?\.(mjs|wasm)$/.test(name),
);
copyFolder(
  join(root, 'node_modules/@mediapipe/tasks-vision/wasm'),
  join(root, 'public/mediapipe-wasm'),
  // detector.ts asks FilesetResolver for the ES-module build (the worker is a module worker), which
  // tasks-vision then always picks: the classic SIMD and no-SIMD builds (25 MB) are never fetched.
  (name) => name === 'vision_wasm_module_internal.js' || name === 'vision_wasm_module_internal.wasm',
);
