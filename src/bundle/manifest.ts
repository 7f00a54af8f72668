/**
 * The manifest's types, and the bundle contract (contract.json: format, graphs, their inputs and outputs)
 * as the app reads it; training/face0/bundle.py reads the same file. Field names are identical in Python
 * and TypeScript; see models/README.md.
 */
import contract from './contract.json';

export const BUNDLE_FORMAT = contract.format;
export const BUNDLE_FORMAT_VERSION = contract.format_version;
export const MANIFEST_FILE = contract.manifest_file;
/** Top-level manifest fields: those every bundle has, and those a bundle may leave out. */
export const MANIFEST_FIELDS: { required: readonly string[]; optional: readonly string[] } = contract.manifest_fields;

export interface FileEntry {
  bytes: number;
  sha256: string;
}

export interface TokenizerSpec {
  kind: 'clip-bpe';
  /** OpenAI CLIP merges file, gzip (bpe_simple_vocab_16e6.txt.gz), relative to the bundle. */
  vocab_file: string;
  max_length: 77;
  bos_id: number;
  eos_id: number;
  pad_id: number;
}

export interface CropMargins {
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** Margins are in pixels for a detected box this wide; they scale with box width / reference_face_size. */
  reference_face_size: number;
}

export interface FaceEmbedderSpec extends GraphSpec {
  /** Identifies the network + layer; a projector trained for another embedder is refused. */
  id: string;
  input_size: number;
  /** pixel_values = (rgb_0_255 - mean) / std, per channel, NCHW. */
  mean: [number, number, number];
  std: [number, number, number];
  embedding_width: number;
  crop_margins: CropMargins;
}

export interface FaceDetectorSpec {
  file: string;
  kind: 'mediapipe-blazeface-short-range';
  min_confidence: number;
  /** Images are downscaled so that their longer side is at most this before detection. */
  max_detect_side: number;
}

export interface GraphSpec {
  file: string;
  /**
   * ONNX external-data files holding the graph's weights (graphs too large for one protobuf, e.g.
   * ["unet.onnx.data"]), in the graph's folder; absent when the weights are inside `file`. Each is also
   * listed in `files`.
   */
  external_data?: string[];
}

export interface FaceProjectorSpec extends GraphSpec {
  /** Must equal face_embedder.id. */
  embedder_id: string;
}

/**
 * The VAE decoder graph takes `latents / vae_scaling_factor` and returns an image in `output_range`
 * (pixel = (v - low) / (high - low) * 255). Latents standardised per channel (TAEF2) are undone inside the
 * graph; `latent_mean` / `latent_std` state that standardisation.
 */
export interface VaeDecoderSpec extends GraphSpec {
  autoencoder: 'autoencoder-kl' | 'taef2';
  output_range: [number, number];
  latent_mean?: number[];
  latent_std?: number[];
}

export interface GaussianMixturePrior {
  kind: 'gmm-diag';
  weights: number[];
  means: number[][];
  variances: number[][];
}

export interface SchedulerSpec {
  kind: 'ddim';
  num_train_timesteps: number;
  beta_schedule: 'scaled_linear' | 'linear';
  beta_start: number;
  beta_end: number;
  prediction_type: 'epsilon';
  clip_sample: boolean;
  set_alpha_to_one: boolean;
  steps_offset: number;
  timestep_spacing: 'leading' | 'trailing' | 'linspace';
}

export interface GuidanceDefaults {
  steps: number;
  w: number;
  c: number;
  a: number;
}

/**
 * A linear map from a U-Net latent (C, h, w), as the sampler holds it (before the division by
 * vae_scaling_factor), to RGB in [0, 1] at the latent's resolution: rgb[k] = bias[k] + sum_c
 * weights[k][c] * latent[c], fitted on the bundle's own decoder (training/face0/latent_preview.py).
 * It turns each denoising step into a preview for almost nothing.
 */
export interface LatentPreviewSpec {
  /** 3 rows (R, G, B) of latent_channels weights. */
  weights: number[][];
  bias: number[];
}

/**
 * The sampler's x0 projection (src/diffusion/x0Projection.ts, training/face0/x0_projection.py): `file`
 * holds float16 little-endian values, the training latents' mean then `components` orthonormal rows, each
 * latent_channels * latent_size^2 values in (C, h, w) order; applied at timesteps >= from_timestep.
 */
export interface X0ProjectionSpec {
  file: string;
  components: number;
  from_timestep: number;
}

export interface Manifest {
  format: string;
  format_version: number;
  name: string;
  license: string;
  description: string;
  image_size: number;
  latent_channels: number;
  latent_size: number;
  vae_scaling_factor: number;
  tokenizer: TokenizerSpec;
  context_width: number;
  /** 0-based positions in the 77-token context that the projected face tokens replace. */
  face_token_positions: number[];
  face_detector: FaceDetectorSpec;
  face_embedder: FaceEmbedderSpec;
  face_projector: FaceProjectorSpec;
  text_encoder: GraphSpec;
  unet: GraphSpec;
  vae_decoder: VaeDecoderSpec;
  face_prior: GaussianMixturePrior;
  scheduler: SchedulerSpec;
  defaults: GuidanceDefaults;
  /** Absent in bundles exported before it existed: no step previews then. */
  latent_preview?: LatentPreviewSpec;
  /** Absent: every step takes the U-Net's prediction as it is. */
  x0_projection?: X0ProjectionSpec;
  /** Whole words the text encoder saw in training (every BPE token of each); empty if unknown or every word is known. */
  vocabulary_seen: string[];
  /** Every file of the bundle except manifest.json, by path relative to the bundle. */
  files: Record<string, FileEntry>;
}

export type GraphName = keyof typeof contract.graphs;

/**
 * One dimension of a graph value: 'B' (the dynamic batch axis), a fixed size, or a manifest field
 * (a dotted path; `.length` of a list is its length).
 */
export type SymbolicDim = number | string;

export interface ValueContract {
  type: 'float32' | 'int64';
  shape: SymbolicDim[];
}

/** Each graph's inputs and outputs: their element types and shapes, by name, in order. */
export const GRAPH_VALUES = contract.graphs as Record<
  GraphName,
  { inputs: Record<string, ValueContract>; outputs: Record<string, ValueContract> }
>;

/** The graphs in the order their sessions are created (GraphSet) and their files fetched. */
export const GRAPH_NAMES = Object.keys(GRAPH_VALUES) as GraphName[];

/** Each graph's input and output names. */
export const GRAPH_IO = {} as Record<GraphName, { inputs: readonly string[]; outputs: readonly string[] }>;
for (const graph of GRAPH_NAMES) {
  GRAPH_IO[graph] = { inputs: Object.keys(GRAPH_VALUES[graph].inputs), outputs: Object.keys(GRAPH_VALUES[graph].outputs) };
}
