// Face descriptors from @vladmandic/human's `faceres` network (HSE FaceRes, a MobileNet; TF.js graph
// model) for the evaluation (training/face0/eval_faceres.py). It is a different network from the
// conditioning embedder, so the face-alignment metric does not grade the model with its own input.
//
// Usage: node scripts/faceres-embed.mjs <crops.f32> <descriptors.f32>
//   crops.f32: N x 224 x 224 x 3 float32 little-endian, RGB 0..255 (human feeds faceres 0..255).
//   descriptors.f32: N x 1024 float32, `global_pooling/Mean`, the descriptor human returns.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const SIZE = 224;
const DESCRIPTOR = 'global_pooling/Mean';
const WIDTH = 1024;
const BATCH = 16;

const [cropsPath, outPath] = process.argv.slice(2);
if (!cropsPath || !outPath) {
  console.error('usage: node scripts/faceres-embed.mjs <crops.f32> <descriptors.f32>');
  process.exit(2);
}

// The package's exports map hides its models folder from resolution, so address it on disk.
const modelDir = fileURLToPath(new URL('../node_modules/@vladmandic/human/models/', import.meta.url));

function loadFaceres() {
  const model = JSON.parse(readFileSync(path.join(modelDir, 'faceres.json'), 'utf8'));
  const weightSpecs = model.weightsManifest.flatMap((group) => group.weights);
  const buffers = model.weightsManifest.flatMap((group) =>
    group.paths.map((p) => readFileSync(path.join(modelDir, p))),
  );
  const bytes = Buffer.concat(buffers);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: model.modelTopology, weightSpecs, weightData }));
}

// wasm is several times faster than tfjs' pure-JS cpu backend; fall back when it cannot start.
if (!(await tf.setBackend('wasm').catch(() => false))) await tf.setBackend('cpu');
await tf.ready();

const raw = readFileSync(cropsPath);
const perCrop = SIZE * SIZE * 3;
if (raw.byteLength % (perCrop * 4) !== 0) {
  console.error(`${cropsPath}: ${raw.byteLength} bytes is not a whole number of ${SIZE}x${SIZE}x3 float32 crops`);
  process.exit(2);
}
const crops = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const n = crops.length / perCrop;
const model = await loadFaceres();
const out = new Float32Array(n * WIDTH);
for (let start = 0; start < n; start += BATCH) {
  const count = Math.min(BATCH, n - start);
  const batch = crops.subarray(start * perCrop, (start + count) * perCrop);
  const descriptor = tf.tidy(() => model.execute(tf.tensor4d(batch, [count, SIZE, SIZE, 3]), DESCRIPTOR));
  out.set(await descriptor.data(), start * WIDTH);
  descriptor.dispose();
}
writeFileSync(outPath, Buffer.from(out.buffer));
console.log(JSON.stringify({ crops: n, width: WIDTH, backend: tf.getBackend() }));
