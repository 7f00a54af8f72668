import { weightedMean } from '../face/embeddingOps';
import { EMPTY_SLOT, useStore, type FacePhoto, type SlotId } from '../store';
import { noteBackendSwitch } from './backendSwitch';
import type { EngineClient } from './engineContext';
import { noticeFromError } from './messages';

// A slot's newest action wins: an older analysis finishing late must not overwrite it.
const latest: Record<SlotId, number> = { A: 0, B: 0 };

function begin(slot: SlotId): () => boolean {
  const token = ++latest[slot];
  useStore.getState().updateFace(slot, { busy: true });
  return () => latest[slot] === token;
}

function alertSource(slot: SlotId): string {
  return `face${slot}`;
}

function replacePhoto(slot: SlotId, photo: FacePhoto | null): void {
  const old = useStore.getState().faces[slot].photo;
  if (old && old.url !== photo?.url) URL.revokeObjectURL(old.url);
}

function fail(slot: SlotId, isCurrent: () => boolean, err: unknown, subject: string): void {
  if (!isCurrent()) return;
  const s = useStore.getState();
  s.updateFace(slot, { busy: false });
  s.raise(alertSource(slot), noticeFromError(err, subject));
  noteBackendSwitch(err);
}

export async function loadPhoto(client: EngineClient, slot: SlotId, file: File): Promise<void> {
  const isCurrent = begin(slot);
  try {
    const analysis = await client.analyzeImage(file);
    if (!isCurrent()) return;
    const photo: FacePhoto = { url: URL.createObjectURL(file), blob: file, name: file.name, analysis };
    replacePhoto(slot, photo);
    const s = useStore.getState();
    s.updateFace(slot, {
      source: 'photo',
      label: file.name,
      photo,
      crops: [analysis.crop],
      embedding: analysis.embedding,
      busy: false,
    });
    s.resolve(alertSource(slot));
  } catch (err) {
    fail(slot, isCurrent, err, file.name);
  }
}

/** Re-analyses the slot's photo with another detected face. */
export async function pickFace(client: EngineClient, slot: SlotId, index: number): Promise<void> {
  const photo = useStore.getState().faces[slot].photo;
  if (!photo || photo.analysis.chosen === index) return;
  const isCurrent = begin(slot);
  try {
    const analysis = await client.analyzeImage(photo.blob, index);
    if (!isCurrent()) return;
    useStore.getState().updateFace(slot, {
      photo: { ...photo, analysis },
      crops: [analysis.crop],
      embedding: analysis.embedding,
      busy: false,
    });
  } catch (err) {
    fail(slot, isCurrent, err, photo.name);
  }
}

export async function loadRandomFace(client: EngineClient, slot: SlotId, seed: number): Promise<void> {
  const isCurrent = begin(slot);
  try {
    const embedding = await client.randomFace(seed);
    if (!isCurrent()) return;
    replacePhoto(slot, null);
    const s = useStore.getState();
    s.updateFace(slot, { ...EMPTY_SLOT, source: 'random', label: `Random face (seed ${seed})`, embedding });
    s.resolve(alertSource(slot));
  } catch (err) {
    fail(slot, isCurrent, err, 'Random face');
  }
}

/** Equal-weight mean of the embeddings of every photo with a face; the others are reported. */
export async function loadAverage(client: EngineClient, slot: SlotId, files: File[]): Promise<void> {
  if (files.length === 0) return;
  const isCurrent = begin(slot);
  const analyses = [];
  const failures: string[] = [];
  for (const file of files) {
    try {
      analyses.push(await client.analyzeImage(file));
    } catch (err) {
      failures.push(noticeFromError(err, file.name).detail);
    }
    if (!isCurrent()) return;
  }
  const s = useStore.getState();
  if (analyses.length === 0) {
    s.updateFace(slot, { busy: false });
    s.raise(alertSource(slot), { level: 'error', title: 'No face found', detail: `None of the photos gave a face: ${failures.join('; ')}` });
    return;
  }
  const embedding = weightedMean(
    analyses.map((a) => a.embedding),
    analyses.map(() => 1 / analyses.length),
  );
  replacePhoto(slot, null);
  s.updateFace(slot, {
    ...EMPTY_SLOT,
    source: 'average',
    label: `Average of ${analyses.length} photo${analyses.length === 1 ? '' : 's'}`,
    crops: analyses.map((a) => a.crop),
    embedding,
  });
  if (failures.length > 0) {
    s.raise(alertSource(slot), { level: 'warning', title: 'Some photos were skipped', detail: failures.join('; ') });
  } else {
    s.resolve(alertSource(slot));
  }
}

export function clearFace(slot: SlotId): void {
  latest[slot]++;
  replacePhoto(slot, null);
  useStore.getState().clearFace(slot);
  useStore.getState().resolve(alertSource(slot));
}
