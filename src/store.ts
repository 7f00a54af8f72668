import { create } from 'zustand';
import type { GuidanceDefaults } from './bundle/manifest';
import type { EngineInfo, FaceAnalysis, GenerateResult, PreviewImage, PromptInfo, WarmupReport } from './engineWorker/api';
import type { FaceSource, ImageSettings } from './results/imageSettings';
import type { SavedFace } from './results/savedFaces';

export type AlertLevel = 'error' | 'warning';

export interface Notice {
  level: AlertLevel;
  title: string;
  detail: string;
}

export type SlotId = 'A' | 'B';

export interface FacePhoto {
  url: string;
  blob: Blob;
  name: string;
  analysis: FaceAnalysis;
}

export type CropPreview = FaceAnalysis['crop'];

export interface FaceSlot {
  source: 'none' | FaceSource;
  label: string;
  photo: FacePhoto | null;
  /** Embedder inputs behind this slot (one for a photo, several for an average). */
  crops: CropPreview[];
  embedding: Float32Array | null;
  /** The prior sample's seed, for a random face. */
  randomSeed: number | null;
  busy: boolean;
}

export interface Alert extends Notice {
  id: number;
  /** One alert per source: a newer one replaces it, a success clears it. */
  source: string;
}

export interface LoadState {
  /** The file downloading (or last downloaded) and its bytes. */
  file: string;
  loadedBytes: number;
  totalBytes: number;
  /** The graph whose session is being created, meanwhile (sessions start while later files download). */
  preparing: string | null;
  stage: 'loading' | 'ready' | 'failed';
}

export interface GenerationState {
  /** Id of the newest request sent to the engine; the image matches it when result.requestId equals it. */
  requestId: number;
  /** Controls changed and the debounced request is not sent yet. */
  pending: boolean;
  running: boolean;
  step: number;
  steps: number;
  decoding: boolean;
}

export interface ShownResult extends GenerateResult {
  requestId: number;
  steps: number;
  settings: ImageSettings;
  /** The face embedding the image was conditioned on (after mixing), null for none. */
  faceEmbedding: Float32Array | null;
  /** A fast image made while a control was dragged; the full one follows on release. */
  draft: boolean;
  /** paramsVersion of the controls it was made for. */
  version: number;
}

/** A draft is shown but never kept: only finished full images enter the gallery. */
export interface DraftResult extends ShownResult {
  draft: true;
}

/** A finished image kept for this page's lifetime. */
export interface GalleryItem extends ShownResult {
  draft: false;
  id: number;
  createdAt: Date;
  /** Made by "Variations". */
  variation?: boolean;
  /** Centred cosine between the image's own face and faceEmbedding (variations); null: no face found. */
  likeness?: number | null;
}

export interface VariationsState {
  total: number;
  done: number;
  running: boolean;
  /** Gallery ids of this batch's images, in the order shown (by likeness when asked). */
  ids: number[];
  byLikeness: boolean;
  stopped: string | null;
}

/** The latest step preview of the request in flight (wasm; bundles with a latent_preview). */
export interface StepPreview {
  requestId: number;
  version: number;
  step: number;
  steps: number;
  image: PreviewImage;
}

/** The background warm-up of the graphs after load (engineWorker/warmup.ts). */
export type WarmupState = { state: 'off' } | { state: 'running' } | { state: 'done'; report: WarmupReport } | { state: 'failed'; message: string };

/**
 * The controls whose defaults are the bundle's (manifest.defaults): null until it loads, unless the user
 * sets one first; then setInfo keeps it.
 */
export type GuidanceControls = { [K in keyof GuidanceDefaults]: GuidanceDefaults[K] | null };

export interface Params extends GuidanceControls {
  prompt: string;
  seed: number;
  t: number;
  variety: number;
}

export interface AppState extends Params {
  /** The bundle's folder under models/ (from the URL). */
  bundleName: string;
  info: EngineInfo | null;
  load: LoadState | null;
  faces: Record<SlotId, FaceSlot>;
  promptInfo: PromptInfo | null;
  generation: GenerationState;
  /** The image shown: a finished one (also in the gallery) or a draft (never kept). */
  result: GalleryItem | DraftResult | null;
  preview: StepPreview | null;
  /** A slider is being dragged: images are drafts until it is released. */
  dragging: boolean;
  /** Counts changes of the controls that change the image. */
  paramsVersion: number;
  warmup: WarmupState;
  alerts: Alert[];
  /** Controls the user set before the bundle's defaults arrived: setInfo keeps them. */
  touched: (keyof Params)[];
  /** Regenerate whenever a control changes; otherwise only the Generate button does. */
  live: boolean;
  /** Paper 3.1: every image gets a random face of its own (the faces A and B are not used). */
  randomFacePerImage: boolean;
  /** Newest first. */
  gallery: GalleryItem[];
  variations: VariationsState | null;
  savedFaces: SavedFace[];
  /** Photos given while the model loads, analysed once it is ready. */
  queued: Record<SlotId, File[]>;

  setInfo(info: EngineInfo, stepsOverride: number | null): void;
  setLoad(load: LoadState | null): void;
  setParam<K extends keyof Params>(key: K, value: Params[K]): void;
  setPromptInfo(info: PromptInfo | null): void;
  updateFace(slot: SlotId, patch: Partial<FaceSlot>): void;
  clearFace(slot: SlotId): void;
  setGeneration(patch: Partial<GenerationState>): void;
  setResult(result: GalleryItem | DraftResult): void;
  setPreview(preview: StepPreview | null): void;
  setDragging(dragging: boolean): void;
  bumpParamsVersion(): void;
  setWarmup(warmup: WarmupState): void;
  raise(source: string, notice: Notice): void;
  resolve(source: string): void;
  dismiss(id: number): void;
}

export const EMPTY_SLOT: FaceSlot = {
  source: 'none',
  label: '',
  photo: null,
  crops: [],
  embedding: null,
  randomSeed: null,
  busy: false,
};

/** Images kept in the gallery; the oldest go first (each is a few dozen KB of pixels). */
export const GALLERY_LIMIT = 100;

export const MAX_SEED = 0xffffffff;

/** The guidance controls once the bundle has loaded (setInfo has set every one). */
export function guidanceOf(s: Params): GuidanceDefaults {
  const { w, c, a, steps } = s;
  if (w === null || c === null || a === null || steps === null) throw new Error('the guidance controls are read before the bundle loaded');
  return { w, c, a, steps };
}

export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

let nextAlertId = 1;

export const useStore = create<AppState>()((set) => ({
  prompt: 'a photo of a person',
  w: null,
  c: null,
  a: null,
  steps: null,
  seed: 1,
  t: 0.5,
  variety: 0,
  bundleName: 'default',
  info: null,
  load: null,
  faces: { A: EMPTY_SLOT, B: EMPTY_SLOT },
  promptInfo: null,
  generation: { requestId: 0, pending: false, running: false, step: 0, steps: 0, decoding: false },
  result: null,
  preview: null,
  dragging: false,
  paramsVersion: 0,
  warmup: { state: 'off' },
  alerts: [],
  touched: [],
  live: true,
  randomFacePerImage: false,
  gallery: [],
  variations: null,
  savedFaces: [],
  queued: { A: [], B: [] },

  setInfo: (info, stepsOverride) =>
    set((s) => {
      const d = info.manifest.defaults;
      const defaults: Partial<Params> = { w: d.w, c: d.c, a: d.a, steps: stepsOverride ?? d.steps };
      for (const key of s.touched) delete defaults[key];
      return { info, ...defaults };
    }),
  setLoad: (load) => set({ load }),
  setParam: (key, value) =>
    set((s) => ({ [key]: value, touched: s.touched.includes(key) ? s.touched : [...s.touched, key] }) as Partial<AppState>),
  setPromptInfo: (promptInfo) => set({ promptInfo }),
  updateFace: (slot, patch) => set((s) => ({ faces: { ...s.faces, [slot]: { ...s.faces[slot], ...patch } } })),
  clearFace: (slot) => set((s) => ({ faces: { ...s.faces, [slot]: EMPTY_SLOT } })),
  setGeneration: (patch) => set((s) => ({ generation: { ...s.generation, ...patch } })),
  setResult: (result) => set({ result }),
  setPreview: (preview) => set({ preview }),
  setDragging: (dragging) => set({ dragging }),
  bumpParamsVersion: () => set((s) => ({ paramsVersion: s.paramsVersion + 1 })),
  setWarmup: (warmup) => set({ warmup }),
  raise: (source, notice) =>
    set((s) => ({ alerts: [...s.alerts.filter((a) => a.source !== source), { ...notice, source, id: nextAlertId++ }] })),
  resolve: (source) =>
    set((s) => (s.alerts.some((a) => a.source === source) ? { alerts: s.alerts.filter((a) => a.source !== source) } : s)),
  dismiss: (id) => set((s) => ({ alerts: s.alerts.filter((a) => a.id !== id) })),
}));
