/**
 * What made an image, kept with it in the gallery (to restore the controls) and written into its PNG
 * (without face embeddings: a shared PNG must not carry a biometric template of the person).
 */
import type { GuidanceParams } from '../diffusion/guidance';
import type { PngText } from './png';

export type FaceSource = 'photo' | 'random' | 'average' | 'saved' | 'character';

export interface FaceSnapshot {
  source: FaceSource;
  label: string;
  /** The prior sample's seed, for a random face. */
  randomSeed: number | null;
  embedding: Float32Array;
  /** Embedder inputs behind the face (previews), when it came from photos. */
  crops: { width: number; height: number; rgba: Uint8ClampedArray }[];
}

export interface ImageSettings extends GuidanceParams {
  prompt: string;
  seed: number;
  steps: number;
  faceA: FaceSnapshot | null;
  faceB: FaceSnapshot | null;
  /** 0 = face A, 1 = face B; used only when both are given. */
  t: number;
  variety: number;
  /** "A new random face for every image": the prior seed of this image's face (randomFaceSeed(seed)). */
  randomFaceSeed: number | null;
  /** The bundle's manifest name and folder. */
  model: string;
  bundle: string;
}

/**
 * The prior seed of an image's own random face (paper, section 3.1: a random face per image keeps the
 * people in generated images from being tied to the prompt's words). Derived from the image seed, so
 * each new seed, and each variation, gets another person, and the image can be made again.
 */
export function randomFaceSeed(imageSeed: number): number {
  return imageSeed + 2 ** 32;
}

export const AI_STATEMENT = 'AI-generated image. It is not a photograph and does not show a real scene.';
// IPTC's term for media made by a trained model, read by tools that label AI-generated content.
export const IPTC_AI_SOURCE = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

function faceSummary(face: FaceSnapshot | null) {
  if (face === null) return null;
  return { source: face.source, label: face.label, ...(face.randomSeed === null ? {} : { random_seed: face.randomSeed }) };
}

/** The settings as plain JSON values, embeddings left out. */
export function settingsSummary(s: ImageSettings) {
  const both = s.faceA !== null && s.faceB !== null;
  return {
    prompt: s.prompt,
    seed: s.seed,
    steps: s.steps,
    guidance: { w: s.w, c: s.c, a: s.a },
    face:
      s.randomFaceSeed !== null
        ? { source: 'random per image', random_seed: s.randomFaceSeed }
        : { A: faceSummary(s.faceA), B: faceSummary(s.faceB), ...(both ? { t: s.t } : {}), variety: s.variety },
    model: s.model,
    bundle: s.bundle,
  };
}

function xmp(): string {
  return [
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    `<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="${IPTC_AI_SOURCE}"/>`,
    '</rdf:RDF></x:xmpmeta>',
    '<?xpacket end="r"?>',
  ].join('\n');
}

/** The PNG text chunks: the AI-generated statement (plain and as IPTC XMP), prompt, settings, model. */
export function pngTexts(s: ImageSettings, createdAt: Date): PngText[] {
  return [
    { keyword: 'Disclaimer', text: `${AI_STATEMENT} Made with Face0 Studio, model ${s.model}, from a text prompt and a face embedding.` },
    { keyword: 'Description', text: s.prompt },
    { keyword: 'Software', text: 'Face0 Studio' },
    { keyword: 'Source', text: `${s.model} (models/${s.bundle}/)` },
    { keyword: 'Creation Time', text: createdAt.toUTCString() },
    { keyword: 'Face0 settings', text: JSON.stringify(settingsSummary(s)) },
    { keyword: 'XML:com.adobe.xmp', text: xmp() },
  ];
}

/** A download name from the prompt and seed, safe on every file system. */
export function pngFileName(s: Pick<ImageSettings, 'prompt' | 'seed'>): string {
  const words = s.prompt
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return `face0-${words || 'image'}-seed${s.seed}.png`;
}

function sameEmbedding(a: Float32Array | null | undefined, b: Float32Array | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Whether two settings make the same image (so the gallery keeps one). */
export function sameSettings(x: ImageSettings, y: ImageSettings): boolean {
  return (
    JSON.stringify(settingsSummary(x)) === JSON.stringify(settingsSummary(y)) &&
    sameEmbedding(x.faceA?.embedding, y.faceA?.embedding) &&
    sameEmbedding(x.faceB?.embedding, y.faceB?.embedding)
  );
}
