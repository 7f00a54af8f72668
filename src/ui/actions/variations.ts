/**
 * "Variations": the current settings rendered with N new seeds, each image kept in the gallery and,
 * when asked, ordered by how much its face looks like the face it was made from (the face embedder
 * run on the generated image, centred cosine: src/results/faceSimilarity.ts).
 */
import { toEngineError } from '../../shared/engineError';
import { centredCosine, priorMean } from '../../results/faceSimilarity';
import { randomSeed, useStore, type GalleryItem, type VariationsState } from '../../store';
import type { EngineClient } from '../../engineClient/client';
import { addToGallery, pngBlob } from './gallery';
import { jobFromState } from './generation';
import { noticeFromError } from '../messages';

export const VARIATION_COUNTS = [4, 8, 12] as const;

function update(patch: Partial<VariationsState>): void {
  useStore.setState((s) => (s.variations ? { variations: { ...s.variations, ...patch } } : {}));
}

/** Likeness first (highest first), images without a face found last, then in the order made. */
export function orderByLikeness(items: Pick<GalleryItem, 'id' | 'likeness'>[]): number[] {
  const score = (x: Pick<GalleryItem, 'likeness'>) => (typeof x.likeness === 'number' ? x.likeness : -Infinity);
  return [...items].sort((p, q) => score(q) - score(p) || p.id - q.id).map((x) => x.id);
}

async function likenessOf(client: EngineClient, item: GalleryItem, centre: Float32Array): Promise<number | null> {
  if (item.faceEmbedding === null) return null;
  try {
    const analysis = await client.analyzeImage(await pngBlob(item));
    return centredCosine(analysis.embedding, item.faceEmbedding, centre);
  } catch (err) {
    if (toEngineError(err).code === 'no_face') return null;
    throw err;
  }
}

let running: symbol | null = null;

export async function runVariations(client: EngineClient, count: number, byLikeness: boolean): Promise<void> {
  const start = useStore.getState();
  if (start.info === null) return;
  const token = Symbol('variations');
  running = token;
  const centre = priorMean(start.info.manifest.face_prior);
  useStore.setState({ variations: { total: count, done: 0, running: true, ids: [], byLikeness, stopped: null } });
  const made: GalleryItem[] = [];
  try {
    for (let i = 0; i < count && running === token; i++) {
      const state = useStore.getState();
      const job = jobFromState(state, 'batch', randomSeed());
      let result;
      try {
        result = await client.generate(job.req, () => undefined);
      } catch (err) {
        if (toEngineError(err).code !== 'cancelled') throw err;
        update({ stopped: `Stopped after ${made.length} of ${count}: a newer request or Cancel took over.` });
        return;
      }
      const { settings, faceEmbedding } = job;
      const item = addToGallery(
        { ...result, requestId: 0, steps: job.req.steps, settings, faceEmbedding, version: state.paramsVersion },
        { variation: true },
      );
      if (byLikeness) {
        const likeness = await likenessOf(client, item, centre);
        useStore.setState((s) => ({ gallery: s.gallery.map((g) => (g.id === item.id ? { ...g, likeness } : g)) }));
        made.push({ ...item, likeness });
      } else {
        made.push(item);
      }
      update({ done: made.length, ids: byLikeness ? orderByLikeness(made) : made.map((m) => m.id) });
    }
  } catch (err) {
    useStore.getState().raise('variations', noticeFromError(err, 'Variations'));
    update({ stopped: `Stopped after ${made.length} of ${count}.` });
  } finally {
    if (running === token) running = null;
    update({ running: false });
  }
}

export async function stopVariations(client: EngineClient): Promise<void> {
  running = null;
  await client.cancel();
}
