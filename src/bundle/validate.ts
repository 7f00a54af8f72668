/**
 * Pure checks of a bundle: the parsed manifest.json and, once a session exists, each graph's
 * declared inputs/outputs. Failures are EngineError('bad_bundle') naming the file and the problem.
 */
import { EngineError } from '../shared/engineError';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  GRAPH_IO,
  GRAPH_NAMES,
  GRAPH_VALUES,
  MANIFEST_FILE,
  type GraphName,
  type Manifest,
  type SymbolicDim,
  type ValueContract,
} from './manifest';
/** At most this many problems are listed in one error message. */
const MAX_LISTED = 6;

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects problems as "field: what is wrong" so one error can list them all. */
class Checker {
  readonly problems: string[] = [];

  fail(path: string, what: string): void {
    this.problems.push(`${path}: ${what}`);
  }

  object(v: Json, path: string): Record<string, Json> | null {
    if (isObject(v)) return v;
    this.fail(path, v === undefined ? 'missing' : 'must be an object');
    return null;
  }

  string(v: Json, path: string, nonEmpty = true): void {
    if (typeof v !== 'string') this.fail(path, v === undefined ? 'missing' : 'must be a string');
    else if (nonEmpty && v.length === 0) this.fail(path, 'must not be empty');
  }

  literal(v: Json, path: string, allowed: readonly (string | number | boolean)[]): void {
    if (!allowed.includes(v as string)) {
      const shown = v === undefined ? 'missing' : `is ${JSON.stringify(v)}`;
      this.fail(path, `${shown}, expected ${allowed.map((a) => JSON.stringify(a)).join(' or ')}`);
    }
  }

  number(v: Json, path: string, opts: { integer?: boolean; min?: number; exclusiveMin?: number; max?: number } = {}): void {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(path, v === undefined ? 'missing' : 'must be a finite number');
      return;
    }
    if (opts.integer && !Number.isInteger(v)) this.fail(path, `must be an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(path, `must be >= ${opts.min}, got ${v}`);
    if (opts.exclusiveMin !== undefined && v <= opts.exclusiveMin) this.fail(path, `must be > ${opts.exclusiveMin}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(path, `must be <= ${opts.max}, got ${v}`);
  }

  boolean(v: Json, path: string): void {
    if (typeof v !== 'boolean') this.fail(path, v === undefined ? 'missing' : 'must be true or false');
  }

  array(v: Json, path: string, length?: number): Json[] | null {
    if (!Array.isArray(v)) {
      this.fail(path, v === undefined ? 'missing' : 'must be an array');
      return null;
    }
    if (length !== undefined && v.length !== length) {
      this.fail(path, `must have ${length} entries, has ${v.length}`);
      return null;
    }
    return v;
  }

  numbers(v: Json, path: string, length?: number, opts: { exclusiveMin?: number; min?: number } = {}): void {
    this.array(v, path, length)?.forEach((x, i) => this.number(x, `${path}[${i}]`, opts));
  }
}

const SAFE_PATH = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))(?!.*:)[A-Za-z0-9._\-/]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The folder part of a bundle-relative path ('' at the top of the bundle). */
function folderOf(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('/')));
}

function checkGraphSpec(ck: Checker, m: Record<string, Json>, key: GraphName): Record<string, Json> | null {
  const spec = ck.object(m[key], key);
  if (!spec) return null;
  ck.string(spec.file, `${key}.file`);
  if (spec.external_data === undefined) return spec;
  const field = `${key}.external_data`;
  const data = ck.array(spec.external_data, field);
  if (!data) return spec;
  if (data.length === 0) ck.fail(field, 'must not be empty (omit it when the weights are inside the graph file)');
  if (new Set(data).size !== data.length) ck.fail(field, 'must be distinct');
  data.forEach((file, i) => {
    ck.string(file, `${field}[${i}]`);
    // ONNX records each location relative to the graph file, and the app hands onnxruntime-web the bare
    // file name (externalDataFor), so the data must sit beside the graph.
    if (typeof file === 'string' && typeof spec.file === 'string' && folderOf(file) !== folderOf(spec.file)) {
      ck.fail(`${field}[${i}]`, `"${file}" must be in the same folder as "${spec.file}"`);
    }
  });
  return spec;
}

function checkFiles(ck: Checker, m: Record<string, Json>): void {
  const files = ck.object(m.files, 'files');
  if (!files) return;
  for (const [path, entry] of Object.entries(files)) {
    // Bundle files are fetched relative to the bundle URL; never let a manifest point elsewhere.
    if (!SAFE_PATH.test(path)) ck.fail(`files["${path}"]`, 'path must be relative, inside the bundle, without ".." or a scheme');
    const e = ck.object(entry, `files["${path}"]`);
    if (!e) continue;
    ck.number(e.bytes, `files["${path}"].bytes`, { integer: true, min: 0 });
    if (typeof e.sha256 !== 'string' || !SHA256_HEX.test(e.sha256)) {
      ck.fail(`files["${path}"].sha256`, 'must be 64 lowercase hex digits');
    }
  }
  const referenced: [string, Json][] = [
    ['tokenizer.vocab_file', isObject(m.tokenizer) ? m.tokenizer.vocab_file : undefined],
    ['x0_projection.file', isObject(m.x0_projection) ? m.x0_projection.file : undefined],
    ...(['face_detector', 'face_embedder', 'face_projector', 'text_encoder', 'unet', 'vae_decoder'] as const).map(
      (k): [string, Json] => [`${k}.file`, isObject(m[k]) ? m[k].file : undefined],
    ),
    ...GRAPH_NAMES.flatMap((k): [string, Json][] => {
      const data = isObject(m[k]) ? m[k].external_data : undefined;
      return Array.isArray(data) ? data.map((file, i): [string, Json] => [`${k}.external_data[${i}]`, file]) : [];
    }),
  ];
  for (const [field, file] of referenced) {
    if (typeof file === 'string' && !(file in files)) ck.fail(field, `"${file}" is not listed in files`);
  }
}

function checkFacePrior(ck: Checker, m: Record<string, Json>, width: number | null): void {
  const prior = ck.object(m.face_prior, 'face_prior');
  if (!prior) return;
  ck.literal(prior.kind, 'face_prior.kind', ['gmm-diag']);
  const weights = ck.array(prior.weights, 'face_prior.weights');
  if (!weights) return;
  if (weights.length === 0) ck.fail('face_prior.weights', 'must not be empty');
  weights.forEach((w, i) => ck.number(w, `face_prior.weights[${i}]`, { min: 0 }));
  for (const key of ['means', 'variances'] as const) {
    const rows = ck.array(prior[key], `face_prior.${key}`, weights.length);
    rows?.forEach((row, i) =>
      ck.numbers(row, `face_prior.${key}[${i}]`, width ?? undefined, key === 'variances' ? { min: 0 } : {}),
    );
  }
}

function checkDecoder(ck: Checker, m: Record<string, Json>): void {
  const dec = checkGraphSpec(ck, m, 'vae_decoder');
  if (!dec) return;
  ck.literal(dec.autoencoder, 'vae_decoder.autoencoder', ['autoencoder-kl', 'taef2']);
  ck.numbers(dec.output_range, 'vae_decoder.output_range', 2);
  const range = dec.output_range;
  if (Array.isArray(range) && typeof range[0] === 'number' && typeof range[1] === 'number' && !(range[0] < range[1])) {
    ck.fail('vae_decoder.output_range', `must be [low, high] with low < high (got ${JSON.stringify(range)})`);
  }
  if (('latent_mean' in dec) !== ('latent_std' in dec)) {
    ck.fail('vae_decoder', 'latent_mean and latent_std come together');
  } else if ('latent_mean' in dec) {
    const channels = typeof m.latent_channels === 'number' ? m.latent_channels : undefined;
    ck.numbers(dec.latent_mean, 'vae_decoder.latent_mean', channels);
    ck.numbers(dec.latent_std, 'vae_decoder.latent_std', channels, { exclusiveMin: 0 });
  }
}

function checkLatentPreview(ck: Checker, m: Record<string, Json>): void {
  if (m.latent_preview === undefined) return;
  const preview = ck.object(m.latent_preview, 'latent_preview');
  if (!preview) return;
  const channels = typeof m.latent_channels === 'number' ? m.latent_channels : undefined;
  ck.array(preview.weights, 'latent_preview.weights', 3)?.forEach((row, k) => ck.numbers(row, `latent_preview.weights[${k}]`, channels));
  ck.numbers(preview.bias, 'latent_preview.bias', 3);
}

function checkX0Projection(ck: Checker, m: Record<string, Json>): void {
  if (m.x0_projection === undefined) return;
  const spec = ck.object(m.x0_projection, 'x0_projection');
  if (!spec) return;
  ck.string(spec.file, 'x0_projection.file');
  ck.number(spec.components, 'x0_projection.components', { integer: true, min: 1 });
  const total = isObject(m.scheduler) && typeof m.scheduler.num_train_timesteps === 'number' ? m.scheduler.num_train_timesteps : undefined;
  ck.number(spec.from_timestep, 'x0_projection.from_timestep', { integer: true, min: 0, ...(total === undefined ? {} : { max: total - 1 }) });
  const entry = isObject(m.files) && typeof spec.file === 'string' ? m.files[spec.file] : undefined;
  const { components } = spec;
  const { latent_channels: c, latent_size: h } = m;
  if (isObject(entry) && typeof components === 'number' && typeof c === 'number' && typeof h === 'number') {
    const expected = (components + 1) * c * h * h * 2;
    if (entry.bytes !== expected) ck.fail('x0_projection', `"${spec.file}" holds ${String(entry.bytes)} bytes, (components + 1) * latent values in float16 are ${expected}`);
  }
}

/** Validates parsed manifest.json; returns it typed or throws 'bad_bundle' listing the problems. */
export function validateManifest(raw: Json): Manifest {
  const ck = new Checker();
  const m = ck.object(raw, 'manifest');
  if (!m) throw bundleError(MANIFEST_FILE, ck.problems);

  ck.literal(m.format, 'format', [BUNDLE_FORMAT]);
  if (m.format_version !== BUNDLE_FORMAT_VERSION) {
    ck.fail('format_version', `is ${JSON.stringify(m.format_version)}, this app reads version ${BUNDLE_FORMAT_VERSION}`);
  }
  for (const key of ['name', 'license'] as const) ck.string(m[key], key);
  ck.string(m.description, 'description', false);
  for (const key of ['image_size', 'latent_channels', 'latent_size', 'context_width'] as const) {
    ck.number(m[key], key, { integer: true, min: 1 });
  }
  ck.number(m.vae_scaling_factor, 'vae_scaling_factor', { exclusiveMin: 0 });

  const tok = ck.object(m.tokenizer, 'tokenizer');
  if (tok) {
    ck.literal(tok.kind, 'tokenizer.kind', ['clip-bpe']);
    ck.string(tok.vocab_file, 'tokenizer.vocab_file');
    ck.literal(tok.max_length, 'tokenizer.max_length', [77]);
    for (const key of ['bos_id', 'eos_id', 'pad_id'] as const) {
      ck.number(tok[key], `tokenizer.${key}`, { integer: true, min: 0 });
    }
  }

  const positions = ck.array(m.face_token_positions, 'face_token_positions');
  if (positions) {
    if (positions.length === 0) ck.fail('face_token_positions', 'must not be empty');
    positions.forEach((p, i) => ck.number(p, `face_token_positions[${i}]`, { integer: true, min: 2, max: 76 }));
    if (new Set(positions).size !== positions.length) ck.fail('face_token_positions', 'must be distinct');
  }

  const det = ck.object(m.face_detector, 'face_detector');
  if (det) {
    ck.string(det.file, 'face_detector.file');
    ck.literal(det.kind, 'face_detector.kind', ['mediapipe-blazeface-short-range']);
    ck.number(det.min_confidence, 'face_detector.min_confidence', { min: 0, max: 1 });
    ck.number(det.max_detect_side, 'face_detector.max_detect_side', { integer: true, min: 16 });
  }

  const emb = checkGraphSpec(ck, m, 'face_embedder');
  let embeddingWidth: number | null = null;
  if (emb) {
    ck.string(emb.id, 'face_embedder.id');
    ck.number(emb.input_size, 'face_embedder.input_size', { integer: true, min: 1 });
    ck.numbers(emb.mean, 'face_embedder.mean', 3);
    ck.numbers(emb.std, 'face_embedder.std', 3, { exclusiveMin: 0 });
    ck.number(emb.embedding_width, 'face_embedder.embedding_width', { integer: true, min: 1 });
    if (typeof emb.embedding_width === 'number') embeddingWidth = emb.embedding_width;
    const margins = ck.object(emb.crop_margins, 'face_embedder.crop_margins');
    if (margins) {
      for (const key of ['left', 'right', 'top', 'bottom'] as const) {
        ck.number(margins[key], `face_embedder.crop_margins.${key}`);
      }
      ck.number(margins.reference_face_size, 'face_embedder.crop_margins.reference_face_size', { exclusiveMin: 0 });
    }
  }

  const proj = checkGraphSpec(ck, m, 'face_projector');
  if (proj) {
    ck.string(proj.embedder_id, 'face_projector.embedder_id');
    if (emb && typeof emb.id === 'string' && typeof proj.embedder_id === 'string' && proj.embedder_id !== emb.id) {
      ck.fail(
        'face_projector.embedder_id',
        `is "${proj.embedder_id}" but face_embedder.id is "${emb.id}": the projector was trained for another face embedder`,
      );
    }
  }
  for (const key of ['text_encoder', 'unet'] as const) checkGraphSpec(ck, m, key);
  checkDecoder(ck, m);

  checkFacePrior(ck, m, embeddingWidth);
  checkLatentPreview(ck, m);
  checkX0Projection(ck, m);

  const sch = ck.object(m.scheduler, 'scheduler');
  if (sch) {
    ck.literal(sch.kind, 'scheduler.kind', ['ddim']);
    ck.number(sch.num_train_timesteps, 'scheduler.num_train_timesteps', { integer: true, min: 1 });
    ck.literal(sch.beta_schedule, 'scheduler.beta_schedule', ['scaled_linear', 'linear']);
    ck.number(sch.beta_start, 'scheduler.beta_start', { exclusiveMin: 0, max: 1 });
    ck.number(sch.beta_end, 'scheduler.beta_end', { exclusiveMin: 0, max: 1 });
    ck.literal(sch.prediction_type, 'scheduler.prediction_type', ['epsilon']);
    ck.boolean(sch.clip_sample, 'scheduler.clip_sample');
    ck.boolean(sch.set_alpha_to_one, 'scheduler.set_alpha_to_one');
    ck.number(sch.steps_offset, 'scheduler.steps_offset', { integer: true, min: 0 });
    ck.literal(sch.timestep_spacing, 'scheduler.timestep_spacing', ['leading', 'trailing', 'linspace']);
  }

  const defaults = ck.object(m.defaults, 'defaults');
  if (defaults) {
    ck.number(defaults.steps, 'defaults.steps', { integer: true, min: 1 });
    for (const key of ['w', 'c', 'a'] as const) ck.number(defaults[key], `defaults.${key}`);
  }

  ck.array(m.vocabulary_seen, 'vocabulary_seen')?.forEach((v, i) => ck.string(v, `vocabulary_seen[${i}]`));
  checkFiles(ck, m);

  if (ck.problems.length > 0) throw bundleError(MANIFEST_FILE, ck.problems);
  return m as unknown as Manifest;
}

export function bundleError(file: string, problems: string[]): EngineError {
  const listed = problems.slice(0, MAX_LISTED).join('; ');
  const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : '';
  return new EngineError('bad_bundle', `Bundle file ${file}: ${listed}${more}`);
}

/** What a session reports about one input or output (structurally ORT's InferenceSession.ValueMetadata). */
export type GraphValueInfo =
  | { readonly name: string; readonly isTensor: false }
  | { readonly name: string; readonly isTensor: true; readonly type: string; readonly shape: ReadonlyArray<number | string> };

/** A dimension the graph must have: a fixed size, or 'batch' (must be dynamic). */
type Dim = number | 'batch';

interface ValueSpec {
  type: ValueContract['type'];
  shape: Dim[];
}

/** A contract dimension for this manifest: 'B' is the batch axis, a field path its value (a list's `.length`). */
function resolveDim(dim: SymbolicDim, m: Manifest): Dim {
  if (typeof dim === 'number') return dim;
  if (dim === 'B') return 'batch';
  const value = dim.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], m);
  if (typeof value !== 'number') throw new Error(`bundle contract: shape dimension "${dim}" is not a number in the manifest`);
  return value;
}

/** Expected I/O of each graph for this manifest (contract.json), in the contract's order. */
export function expectedGraphIO(graph: GraphName, m: Manifest): { inputs: ValueSpec[]; outputs: ValueSpec[] } {
  const values = (side: Record<string, ValueContract>) =>
    Object.values(side).map(({ type, shape }) => ({ type, shape: shape.map((d) => resolveDim(d, m)) }));
  return { inputs: values(GRAPH_VALUES[graph].inputs), outputs: values(GRAPH_VALUES[graph].outputs) };
}

function checkValue(problems: string[], kind: string, spec: ValueSpec, info: GraphValueInfo): void {
  const where = `${kind} "${info.name}"`;
  if (!info.isTensor) {
    problems.push(`${where} is not a tensor`);
    return;
  }
  if (info.type !== spec.type) problems.push(`${where} has type ${info.type}, expected ${spec.type}`);
  // ORT reports an empty shape when the graph declares none; there is nothing to compare then.
  if (info.shape.length === 0) return;
  const expected = `(${spec.shape.map((d) => (d === 'batch' ? 'B' : d)).join(', ')})`;
  const got = `(${info.shape.join(', ')})`;
  if (info.shape.length !== spec.shape.length) {
    problems.push(`${where} has shape ${got}, expected ${expected}`);
    return;
  }
  spec.shape.forEach((d, i) => {
    const actual = info.shape[i];
    if (d === 'batch') {
      // Guidance batches 1-4 conditions into one call, so the batch axis must be dynamic.
      if (typeof actual === 'number' && actual > 0) problems.push(`${where} has a fixed batch size ${actual}, expected a dynamic batch`);
    } else if (typeof actual === 'number' && actual > 0 && actual !== d) {
      problems.push(`${where} has shape ${got}, expected ${expected}`);
    }
  });
}

/** Checks a created session's inputs/outputs against the manifest; throws 'bad_bundle' naming the file. */
export function validateGraphIO(
  graph: GraphName,
  file: string,
  m: Manifest,
  inputs: readonly GraphValueInfo[],
  outputs: readonly GraphValueInfo[],
): void {
  const problems: string[] = [];
  const spec = expectedGraphIO(graph, m);
  const sides = [
    { kind: 'input', names: GRAPH_IO[graph].inputs, specs: spec.inputs, infos: inputs },
    { kind: 'output', names: GRAPH_IO[graph].outputs, specs: spec.outputs, infos: outputs },
  ];
  for (const { kind, names, specs, infos } of sides) {
    const got = infos.map((v) => v.name);
    const missing = names.filter((n) => !got.includes(n));
    // Extra outputs are harmless (only the listed ones are fetched); an extra input could not be fed.
    const extra = kind === 'input' ? got.filter((n) => !(names as readonly string[]).includes(n)) : [];
    if (missing.length > 0 || extra.length > 0) {
      const expected = kind === 'input' ? `[${names.join(', ')}]` : `to include [${names.join(', ')}]`;
      problems.push(`${graph} ${kind}s are [${got.join(', ')}], expected ${expected}`);
      continue;
    }
    names.forEach((name, i) => checkValue(problems, kind, specs[i], infos.find((v) => v.name === name)!));
  }
  if (problems.length > 0) throw bundleError(file, problems);
}
