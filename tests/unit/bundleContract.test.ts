/**
 * The app's side of the bundle contract (src/bundle/contract.json), held to the file and to what the Python
 * side wrote: the default bundle's graphs (training/face0/export.py) pass the app's graph check in
 * onnxruntime-web; the pipeline feeds each graph the contract's inputs and reads its outputs; the manifest
 * check requires the contract's fields. training/tests/test_contract.py holds the Python side to the file.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { GRAPH_IO, GRAPH_NAMES, MANIFEST_FIELDS, type GraphName } from '../../src/bundle/manifest';
import { expectedGraphIO, validateGraphIO, validateManifest } from '../../src/bundle/validate';
import { CancelToken } from '../../src/engineWorker/cancel';
import { Pipeline } from '../../src/engineWorker/pipeline';
import { cpuOps } from '../../src/engineWorker/tensorOps';
import type { Feeds, Outputs } from '../../src/engineWorker/tensors';
import { base, mutated, problemOf } from './manifestCases';

const bundleDir = new URL('../../models/default/', import.meta.url);

describe('the bundle contract', () => {
  it('the default bundle graphs, exported by Python, pass the app check of their inputs and outputs', async () => {
    ort.env.wasm.numThreads = 1;
    for (const graph of GRAPH_NAMES) {
      const file = base[graph].file;
      const session = await ort.InferenceSession.create(readFileSync(new URL(file, bundleDir)));
      try {
        expect(session.inputNames).toEqual(GRAPH_IO[graph].inputs);
        expect(() => validateGraphIO(graph, file, base, session.inputMetadata, session.outputMetadata)).not.toThrow();
      } finally {
        await session.release();
      }
    }
  }, 60_000);

  it('the pipeline feeds each graph the contract inputs and reads its outputs', async () => {
    const fed: Partial<Record<GraphName, string[]>> = {};
    // Zeros of the contract's shapes, under the contract's names only.
    const run = async (graph: GraphName, feeds: Feeds): Promise<Outputs> => {
      fed[graph] = Object.keys(feeds);
      const batch = Object.values(feeds)[0].dims[0];
      const { outputs } = expectedGraphIO(graph, base);
      return Object.fromEntries(
        GRAPH_IO[graph].outputs.map((name, i) => {
          const dims = outputs[i].shape.map((d) => (d === 'batch' ? batch : d));
          return [name, { data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims }];
        }),
      );
    };
    const encodeIds = () => new Int32Array(base.tokenizer.max_length);
    const pipeline = new Pipeline(base, encodeIds, run, () => cpuOps);
    const face = new Float32Array(base.face_embedder.embedding_width);
    await pipeline.generate({ prompt: 'a', faceEmbedding: face, w: 7.5, c: 0.5, a: 0.5, steps: 1, seed: 0 }, new CancelToken());
    for (const graph of ['text_encoder', 'face_projector', 'unet', 'vae_decoder'] as const) {
      expect(fed[graph], graph).toEqual(GRAPH_IO[graph].inputs);
    }
  });

  it('the manifest check requires every required field and lets each optional one be left out', () => {
    expect(Object.keys(base).sort()).toEqual(
      [...MANIFEST_FIELDS.required, ...MANIFEST_FIELDS.optional].filter((f) => f in base).sort(),
    );
    for (const field of MANIFEST_FIELDS.required) {
      expect(problemOf(mutated((m) => delete m[field]))).toMatch(new RegExp(`(^|; |: )${field}: (missing|is undefined)`));
    }
    for (const field of MANIFEST_FIELDS.optional) {
      expect(() => validateManifest(mutated((m) => delete m[field]))).not.toThrow();
    }
  });
});
