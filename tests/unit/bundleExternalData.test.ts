/**
 * Graphs whose weights live in ONNX external-data files (models/README.md, `external_data`): the
 * manifest checks of src/bundle/validate.ts and the session option built by src/bundle/externalData.ts,
 * starting from the real models/default manifest with its U-Net's weights declared external.
 */
import { describe, expect, it } from 'vitest';
import { externalDataFor } from '../../src/bundle/externalData';
import type { BundleSource } from '../../src/bundle/loadBundle';
import { base, mutated, problemOf } from './manifestCases';
import { validateManifest } from '../../src/bundle/validate';

const DATA_ENTRY = { bytes: 3, sha256: 'a'.repeat(64) };

/** models/default's manifest as the exporter writes it when the U-Net's weights go external. */
function withExternalUnet(edit: (m: Record<string, any>) => void = () => {}): Record<string, any> {
  return mutated((m) => {
    m.unet.external_data = ['unet.onnx.data'];
    m.files['unet.onnx.data'] = DATA_ENTRY;
    edit(m);
  });
}

describe('validateManifest: external_data', () => {
  it('accepts a graph with an external-data file listed in files, and graphs without one', () => {
    const m = validateManifest(withExternalUnet());
    expect(m.unet.external_data).toEqual(['unet.onnx.data']);
    expect(m.text_encoder.external_data).toBeUndefined();
  });

  it('accepts external data on any graph, in a subfolder beside its graph', () => {
    const m = withExternalUnet((m) => {
      m.files['graphs/face_embedder.onnx'] = m.files['face_embedder.onnx'];
      m.files['graphs/face_embedder.onnx.data'] = DATA_ENTRY;
      delete m.files['face_embedder.onnx'];
      m.face_embedder.file = 'graphs/face_embedder.onnx';
      m.face_embedder.external_data = ['graphs/face_embedder.onnx.data'];
    });
    expect(validateManifest(m).face_embedder.external_data).toEqual(['graphs/face_embedder.onnx.data']);
  });

  it.each([
    ['unlisted file', (m: any) => delete m.files['unet.onnx.data'], /unet.external_data\[0\]: "unet.onnx.data" is not listed in files/],
    ['not an array', (m: any) => (m.unet.external_data = 'unet.onnx.data'), /unet.external_data: must be an array/],
    ['empty', (m: any) => (m.unet.external_data = []), /unet.external_data: must not be empty/],
    ['not a string', (m: any) => (m.unet.external_data = [3]), /unet.external_data\[0\]: must be a string/],
    ['duplicate', (m: any) => (m.unet.external_data = ['unet.onnx.data', 'unet.onnx.data']), /unet.external_data: must be distinct/],
    [
      'another folder',
      (m: any) => {
        m.files['weights/unet.onnx.data'] = DATA_ENTRY;
        m.unet.external_data = ['weights/unet.onnx.data'];
      },
      /unet.external_data\[0\]: "weights\/unet.onnx.data" must be in the same folder as "unet.onnx"/,
    ],
    [
      'an escaping path',
      (m: any) => {
        m.files['../unet.onnx.data'] = DATA_ENTRY;
        m.unet.external_data = ['../unet.onnx.data'];
      },
      /files\["..\/unet.onnx.data"\]: path must be relative/,
    ],
    ['on the face embedder', (m: any) => (m.face_embedder.external_data = {}), /face_embedder.external_data: must be an array/],
  ])('refuses %s', (_name, edit, pattern) => {
    expect(problemOf(withExternalUnet(edit))).toMatch(pattern);
  });
});

describe('externalDataFor', () => {
  const bytes = new Uint8Array([1, 2, 3]);

  /** A bundle whose listed files have all arrived. */
  function bundleOf(manifest: Record<string, any>, files: [string, Uint8Array][]): BundleSource {
    const arrived = new Map(files);
    return {
      manifest: validateManifest(manifest),
      arrived: (path) => (arrived.has(path) ? Promise.resolve(arrived.get(path)!) : Promise.reject(new Error(`${path} failed`))),
    };
  }

  it("is empty for a graph whose weights are inside its file, as in every graph of models/default", async () => {
    const bundle = bundleOf(structuredClone(base) as unknown as Record<string, any>, []);
    for (const graph of ['text_encoder', 'face_projector', 'unet', 'vae_decoder', 'face_embedder'] as const) {
      expect(await externalDataFor(bundle, graph)).toEqual([]);
    }
  });

  it('hands onnxruntime-web the loaded bytes under the location the graph records: the file name', async () => {
    const bundle = bundleOf(withExternalUnet(), [['unet.onnx.data', bytes]]);
    const [file, ...rest] = await externalDataFor(bundle, 'unet');
    expect(rest).toEqual([]);
    expect(file.path).toBe('unet.onnx.data');
    expect(file.data).toBe(bytes); // the loaded buffer itself, not a copy of up to 2 GB
    const nested = withExternalUnet((m) => {
      m.files['sd/unet.onnx'] = m.files['unet.onnx'];
      m.files['sd/unet.onnx.data'] = DATA_ENTRY;
      m.unet = { file: 'sd/unet.onnx', external_data: ['sd/unet.onnx.data'] };
    });
    expect(await externalDataFor(bundleOf(nested, [['sd/unet.onnx.data', bytes]]), 'unet')).toEqual([{ path: 'unet.onnx.data', data: bytes }]);
  });

  it("fails with the external-data file's own failure", async () => {
    await expect(externalDataFor(bundleOf(withExternalUnet(), []), 'unet')).rejects.toThrow('unet.onnx.data failed');
  });
});
