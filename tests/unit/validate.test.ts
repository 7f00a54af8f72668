/** Manifest and graph-I/O checks (src/bundle/validate.ts), starting from the real models/default manifest. */
import { describe, expect, it } from 'vitest';
import { expectedGraphIO, validateGraphIO, validateManifest, type GraphValueInfo } from '../../src/bundle/validate';
import { base, mutated, problemOf } from './manifestCases';

describe('validateManifest', () => {
  it('accepts the default bundle manifest', () => {
    expect(validateManifest(base).name).toBe(base.name);
  });

  it.each([
    ['format_version', (m: any) => (m.format_version = 2), /manifest\.json: format_version: is 2, this app reads version 1/],
    ['format', (m: any) => (m.format = 'other'), /format: is "other", expected "face0-bundle"/],
    ['missing unet', (m: any) => delete m.unet, /unet: missing/],
    ['string size', (m: any) => (m.image_size = '64'), /image_size: must be a finite number/],
    ['fractional channels', (m: any) => (m.latent_channels = 3.5), /latent_channels: must be an integer, got 3.5/],
    ['max_length', (m: any) => (m.tokenizer.max_length = 64), /tokenizer.max_length: is 64, expected 77/],
    ['duplicate positions', (m: any) => (m.face_token_positions = [74, 74, 76]), /face_token_positions: must be distinct/],
    ['std 0', (m: any) => (m.face_embedder.std = [255, 0, 255]), /face_embedder.std\[1\]: must be > 0, got 0/],
    ['mean length', (m: any) => (m.face_embedder.mean = [1, 2]), /face_embedder.mean: must have 3 entries, has 2/],
    ['schedule', (m: any) => (m.scheduler.beta_schedule = 'cosine'), /scheduler.beta_schedule: is "cosine"/],
    ['prior width', (m: any) => (m.face_prior.means[0] = m.face_prior.means[0].slice(1)), /face_prior.means\[0\]: must have 256 entries, has 255/],
    ['prior rows', (m: any) => m.face_prior.variances.pop(), /face_prior.variances: must have \d+ entries/],
    ['sha', (m: any) => (m.files['unet.onnx'].sha256 = 'ABC'), /files\["unet.onnx"\].sha256: must be 64 lowercase hex digits/],
    ['unlisted file', (m: any) => delete m.files['unet.onnx'], /unet.file: "unet.onnx" is not listed in files/],
    ['no output range', (m: any) => delete m.vae_decoder.output_range, /vae_decoder.output_range: missing/],
    ['reversed output range', (m: any) => (m.vae_decoder.output_range = [1, 0]), /vae_decoder.output_range: must be \[low, high\] with low < high/],
    ['unknown autoencoder', (m: any) => (m.vae_decoder.autoencoder = 'vq-gan'), /vae_decoder.autoencoder: is "vq-gan"/],
    ['latent std alone', (m: any) => (m.vae_decoder.latent_std = [1, 1, 1, 1]), /vae_decoder: latent_mean and latent_std come together/],
    [
      'latent statistics width',
      (m: any) => ((m.vae_decoder.latent_mean = [0, 0, 0]), (m.vae_decoder.latent_std = [1, 1, 1])),
      /vae_decoder.latent_mean: must have 4 entries, has 3/,
    ],
    ['escaping path', (m: any) => (m.files['../secret'] = { bytes: 1, sha256: '0'.repeat(64) }), /files\["..\/secret"\]: path must be relative/],
    ['absolute URL', (m: any) => (m.files['https://x/y'] = { bytes: 1, sha256: '0'.repeat(64) }), /path must be relative/],
    ['preview channels', (m: any) => (m.latent_preview.weights[1] = [0.1, 0.2]), /latent_preview.weights\[1\]: must have 4 entries, has 2/],
    ['preview rows', (m: any) => m.latent_preview.weights.pop(), /latent_preview.weights: must have 3 entries, has 2/],
    ['preview bias', (m: any) => (m.latent_preview.bias = [0, 'x', 0]), /latent_preview.bias\[1\]: must be a finite number/],
  ])('refuses %s', (_name, edit, pattern) => {
    expect(problemOf(mutated(edit))).toMatch(pattern);
  });

  it('accepts a manifest without a latent preview (older bundles)', () => {
    expect(validateManifest(mutated((m) => delete m.latent_preview)).latent_preview).toBeUndefined();
  });

  it('refuses a projector trained for another embedder, naming both ids', () => {
    const msg = problemOf(mutated((m) => (m.face_projector.embedder_id = 'arcface-r100')));
    expect(msg).toContain('face_projector.embedder_id: is "arcface-r100" but face_embedder.id is "faceapi-resnet-pool256-v1"');
  });

  it('lists several problems in one message', () => {
    const msg = problemOf(mutated((m) => ((m.image_size = -1), (m.context_width = 0))));
    expect(msg).toMatch(/image_size: must be >= 1, got -1; context_width: must be >= 1, got 0/);
  });

  it('refuses non-objects and invalid top-level values', () => {
    expect(problemOf(null)).toBe('Bundle file manifest.json: manifest: must be an object');
    expect(problemOf([])).toMatch(/must be an object/);
  });
});

/** Metadata as onnxruntime-web 1.30 reports it for models/default (recorded with its node build). */
const tensor = (name: string, type: string, shape: (number | string)[]): GraphValueInfo => ({ name, isTensor: true, type, shape });
const defaultIO: Record<string, [GraphValueInfo[], GraphValueInfo[]]> = {
  text_encoder: [[tensor('input_ids', 'int64', ['B', 77])], [tensor('last_hidden_state', 'float32', ['B', 77, 256])]],
  face_projector: [[tensor('face_embedding', 'float32', ['B', 256])], [tensor('face_tokens', 'float32', ['B', 3, 256])]],
  unet: [
    [tensor('sample', 'float32', ['B', 4, 16, 16]), tensor('timestep', 'float32', ['B']), tensor('encoder_hidden_states', 'float32', ['B', 77, 256])],
    [tensor('out_sample', 'float32', ['B', 4, 16, 16])],
  ],
  vae_decoder: [[tensor('latent_sample', 'float32', ['B', 4, 16, 16])], [tensor('sample', 'float32', ['B', 3, 64, 64])]],
  face_embedder: [
    [tensor('pixel_values', 'float32', ['B', 3, 150, 150])],
    [tensor('face_embedding', 'float32', ['B', 256]), tensor('descriptor', 'float32', ['B', 128])],
  ],
};

describe('validateGraphIO', () => {
  it('accepts the default bundle graphs (an extra output is allowed)', () => {
    for (const [graph, [inputs, outputs]] of Object.entries(defaultIO)) {
      expect(() => validateGraphIO(graph as keyof typeof defaultIO as never, `${graph}.onnx`, base, inputs, outputs)).not.toThrow();
    }
  });

  it('derives expected shapes from the manifest', () => {
    expect(expectedGraphIO('unet', base).inputs.map((s) => s.shape)).toEqual([['batch', 4, 16, 16], ['batch'], ['batch', 77, 256]]);
    expect(expectedGraphIO('vae_decoder', base).outputs[0].shape).toEqual(['batch', 3, 64, 64]);
  });

  const check = (graph: 'unet' | 'text_encoder' | 'face_projector', inputs: GraphValueInfo[], outputs: GraphValueInfo[]) => {
    try {
      validateGraphIO(graph, `${graph}.onnx`, base, inputs, outputs);
    } catch (err) {
      expect(err).toMatchObject({ code: 'bad_bundle' });
      return (err as Error).message;
    }
    return 'accepted';
  };
  const [unetIn, unetOut] = defaultIO.unet;

  it('names the file and the wrong input', () => {
    expect(check('unet', [unetIn[0], unetIn[1], tensor('context', 'float32', ['B', 77, 256])], unetOut)).toBe(
      'Bundle file unet.onnx: unet inputs are [sample, timestep, context], expected [sample, timestep, encoder_hidden_states]',
    );
  });

  it('refuses a context width that differs from the manifest', () => {
    expect(check('unet', [unetIn[0], unetIn[1], tensor('encoder_hidden_states', 'float32', ['B', 77, 768])], unetOut)).toBe(
      'Bundle file unet.onnx: input "encoder_hidden_states" has shape (B, 77, 768), expected (B, 77, 256)',
    );
  });

  it('refuses a fixed batch, a wrong dtype and a missing output', () => {
    expect(check('face_projector', [tensor('face_embedding', 'float32', [1, 256])], defaultIO.face_projector[1])).toMatch(
      /input "face_embedding" has a fixed batch size 1, expected a dynamic batch/,
    );
    expect(check('text_encoder', [tensor('input_ids', 'int32', ['B', 77])], defaultIO.text_encoder[1])).toMatch(
      /input "input_ids" has type int32, expected int64/,
    );
    expect(check('unet', unetIn, [tensor('noise_pred', 'float32', ['B', 4, 16, 16])])).toMatch(
      /unet outputs are \[noise_pred\], expected to include \[out_sample\]/,
    );
  });

  it('accepts symbolic spatial dims and undeclared shapes, refuses a wrong rank', () => {
    expect(check('unet', [tensor('sample', 'float32', ['B', 4, 'h', 'w']), unetIn[1], unetIn[2]], [tensor('out_sample', 'float32', [])])).toBe('accepted');
    expect(check('unet', [unetIn[0], tensor('timestep', 'float32', ['B', 1]), unetIn[2]], unetOut)).toMatch(
      /input "timestep" has shape \(B, 1\), expected \(B\)/,
    );
  });
});
