/**
 * models/default/face_embedder.onnx against the original face-api (@vladmandic/face-api 1.7.15, its
 * Node build, on @tensorflow/tfjs-backend-wasm) on real face crops: the golden photos of
 * tests/golden/extraction.json, decoded with jpeg-js and cropped with src/face/resample.ts at the
 * golden crop boxes. The ONNX graph runs on onnxruntime-web's wasm backend.
 *
 * Checked (tolerances are absolute):
 * - `descriptor` equals face-api's computeFaceDescriptor: max |diff| < 1e-4.
 * - `face_embedding` equals face-api's own forward pass with its final fc replaced by the identity,
 *   i.e. its mean-pooled 256-d features: max |diff| < 1e-4.
 * - The whole TypeScript chain (decode, crop, normalise, embed) reproduces the Python pipeline's golden
 *   embedding: cosine > 0.9999 and max |diff| < 0.05 (jpeg-js and libjpeg-turbo decode slightly differently).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import { decode as decodeJpeg } from 'jpeg-js';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Box } from '../../src/face/faceCrop';
import { cropAndResize, toPixelValues } from '../../src/face/resample';
import { rgbaToRgb, type RgbImage } from '../../src/shared/pixels';

interface GoldenPhoto {
  path: string;
  crop_box: Box;
  embedding: number[];
}
interface ExtractionGoldens {
  embedder: { input_size: number; mean: number[]; std: number[] };
  photos: GoldenPhoto[];
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dataDir = fileURLToPath(new URL('../../../shared/data/celeba-identities/', import.meta.url));
const faceApiModelDir = `${repoRoot}node_modules/@vladmandic/face-api/model/`;
const goldens = JSON.parse(
  readFileSync(`${repoRoot}tests/golden/extraction.json`, 'utf8'),
) as ExtractionGoldens;
const size = goldens.embedder.input_size;
const tf = faceapi.tf;
// The same module at run time (the Node build requires @tensorflow/tfjs), typed in full: face-api's
// bundled declarations lack setBackend and eye.
const tfjs = faceapi.tf as unknown as typeof import('@tensorflow/tfjs');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

function goldenCrop(photo: GoldenPhoto): RgbImage {
  const jpeg = decodeJpeg(readFileSync(dataDir + photo.path), { useTArray: true, formatAsRGBA: true });
  const rgba = new Uint8ClampedArray(jpeg.data.buffer, jpeg.data.byteOffset, jpeg.data.byteLength);
  return cropAndResize(rgbaToRgb(rgba, jpeg.width, jpeg.height), photo.crop_box, size);
}

async function faceApiOutputs(net: faceapi.FaceRecognitionNet, crops: RgbImage[]): Promise<Float32Array[]> {
  const inputs = crops.map((c) => tf.tensor3d(c.data, [size, size, 3], 'float32'));
  const out = (await net.computeFaceDescriptor(inputs)) as Float32Array[];
  inputs.forEach((t) => t.dispose());
  return out;
}

describe('face_embedder.onnx vs face-api', () => {
  let crops: RgbImage[];
  let onnxEmbedding: Float32Array;
  let onnxDescriptor: Float32Array;
  let net: faceapi.FaceRecognitionNet;

  beforeAll(async () => {
    expect(await tfjs.setBackend('wasm')).toBe(true);
    expect(tfjs.getBackend()).toBe('wasm');
    const manifest = JSON.parse(
      readFileSync(`${faceApiModelDir}face_recognition_model-weights_manifest.json`, 'utf8'),
    ) as { weights: Parameters<typeof tf.io.decodeWeights>[1] }[];
    const bin = readFileSync(`${faceApiModelDir}face_recognition_model.bin`);
    net = new faceapi.FaceRecognitionNet();
    net.loadFromWeightMap(
      tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights),
    );

    crops = goldens.photos.map(goldenCrop);
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(readFileSync(`${repoRoot}models/default/face_embedder.onnx`), {
      executionProviders: ['wasm'],
    });
    const n = size * size * 3;
    const batch = new Float32Array(crops.length * n);
    crops.forEach((c, i) => batch.set(toPixelValues(c, goldens.embedder.mean, goldens.embedder.std), i * n));
    const out = await session.run({ pixel_values: new ort.Tensor('float32', batch, [crops.length, 3, size, size]) });
    expect(out.face_embedding.dims).toEqual([crops.length, 256]);
    expect(out.descriptor.dims).toEqual([crops.length, 128]);
    onnxEmbedding = out.face_embedding.data as Float32Array;
    onnxDescriptor = out.descriptor.data as Float32Array;
    await session.release();
  });

  it('descriptor matches computeFaceDescriptor', async () => {
    const reference = await faceApiOutputs(net, crops);
    reference.forEach((d, i) => {
      expect(maxAbsDiff(onnxDescriptor.subarray(i * 128, (i + 1) * 128), d)).toBeLessThan(1e-4);
    });
  });

  it('face_embedding matches face-api pooled features (fc replaced by identity)', async () => {
    const params = net.params!;
    const fc = params.fc;
    params.fc = tfjs.eye(256) as unknown as typeof fc;
    const reference = await faceApiOutputs(net, crops);
    params.fc.dispose();
    params.fc = fc;
    reference.forEach((e, i) => {
      expect(e.length).toBe(256);
      expect(maxAbsDiff(onnxEmbedding.subarray(i * 256, (i + 1) * 256), e)).toBeLessThan(1e-4);
    });
  });

  it('reproduces the Python pipeline golden embeddings', () => {
    goldens.photos.forEach((photo, i) => {
      const e = onnxEmbedding.subarray(i * 256, (i + 1) * 256);
      expect(cosine(e, photo.embedding)).toBeGreaterThan(0.9999);
      expect(maxAbsDiff(e, photo.embedding)).toBeLessThan(0.05);
    });
  });
});
