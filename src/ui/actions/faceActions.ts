import { weightedMean } from '../../face/embeddingOps';
import { describeProblem, likenessProblems } from '../../face/likeness';
import type { FaceSnapshot } from '../../results/imageSettings';
import type { SavedFace } from '../../results/savedFaces';
import { EMPTY_SLOT, useStore, type FacePhoto, type FaceSlot, type GalleryItem, type SlotId } from '../../store';
import { noteBackendSwitch } from './backendSwitch';
import type { EngineClient } from '../../engineClient/client';
import { noticeFromError } from '../messages';

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

/** What the slot still holds after a failure, said in the message so nobody takes it for the new face. */
function keptNote(slot: SlotId): string {
  const face = useStore.getState().faces[slot];
  return face.source === 'none' ? ` Face ${slot} stays empty.` : ` Face ${slot} is unchanged: still ${face.label}.`;
}

function fail(slot: SlotId, isCurrent: () => boolean, err: unknown, subject: string): void {
  if (!isCurrent()) return;
  const s = useStore.getState();
  s.updateFace(slot, { busy: false });
  const notice = noticeFromError(err, subject);
  s.raise(alertSource(slot), { ...notice, detail: `${notice.detail.replace(/\.?$/, '.')}${keptNote(slot)}` });
  noteBackendSwitch(err);
}

/** The slot's new face (every field not given is reset); its earlier message goes. */
function setFace(slot: SlotId, face: Partial<FaceSlot>): void {
  const s = useStore.getState();
  s.updateFace(slot, { ...EMPTY_SLOT, ...face, busy: false });
  s.resolve(alertSource(slot));
}

export async function loadPhoto(client: EngineClient, slot: SlotId, file: File): Promise<void> {
  const isCurrent = begin(slot);
  try {
    const analysis = await client.analyzeImage(file);
    if (!isCurrent()) return;
    const photo: FacePhoto = { url: URL.createObjectURL(file), blob: file, name: file.name, analysis };
    replacePhoto(slot, photo);
    setFace(slot, { source: 'photo', label: file.name, photo, crops: [analysis.crop], embedding: analysis.embedding });
  } catch (err) {
    fail(slot, isCurrent, err, file.name);
  }
}

/** Why the slot's chosen photo face may give a poor likeness (empty when it looks fine). */
export function photoProblems(photo: FacePhoto): string[] {
  const { analysis } = photo;
  const face = analysis.faces[analysis.chosen];
  return face ? likenessProblems(face, analysis.imageWidth, analysis.imageHeight).map(describeProblem) : [];
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
    setFace(slot, { source: 'random', label: `Random face (seed ${seed})`, embedding, randomSeed: seed });
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
  setFace(slot, {
    source: 'average',
    label: `Average of ${analyses.length} photo${analyses.length === 1 ? '' : 's'}`,
    crops: analyses.map((a) => a.crop),
    embedding,
  });
  if (failures.length > 0) {
    s.raise(alertSource(slot), { level: 'warning', title: 'Some photos were skipped', detail: failures.join('; ') });
  }
}

/** Puts a kept face (gallery snapshot, pinned random face) into the slot without analysing anything. */
export function placeFace(slot: SlotId, face: FaceSnapshot | null): void {
  latest[slot]++;
  replacePhoto(slot, null);
  if (face === null) {
    useStore.getState().clearFace(slot);
    useStore.getState().resolve(alertSource(slot));
    return;
  }
  setFace(slot, { source: face.source, label: face.label, crops: face.crops, embedding: face.embedding, randomSeed: face.randomSeed });
}

export function placeSavedFace(slot: SlotId, face: SavedFace): void {
  placeFace(slot, { source: 'saved', label: face.name, randomSeed: null, embedding: face.embedding, crops: [] });
}

/**
 * Paper, section 3.2 (consistent characters): the face of a generated image, embedded like a photo,
 * becomes the slot's face, so the same character appears in new prompts.
 */
export async function loadCharacter(client: EngineClient, slot: SlotId, item: GalleryItem, png: Blob, label: string): Promise<boolean> {
  const isCurrent = begin(slot);
  try {
    const analysis = await client.analyzeImage(png);
    if (!isCurrent()) return false;
    replacePhoto(slot, null);
    setFace(slot, { source: 'character', label, crops: [analysis.crop], embedding: analysis.embedding });
    return true;
  } catch (err) {
    const pinnable = item.settings.randomFaceSeed !== null;
    fail(slot, isCurrent, err, `${label}${pinnable ? ' (its random face can be pinned instead)' : ''}`);
    return false;
  }
}

/** One photo: its face; several: their average. */
export function loadPhotos(client: EngineClient, slot: SlotId, files: File[]): Promise<void> {
  return files.length === 1 ? loadPhoto(client, slot, files[0]) : loadAverage(client, slot, files);
}

/** Analyses the photos given while the model loaded. */
export function loadQueuedPhotos(client: EngineClient): void {
  const { queued } = useStore.getState();
  useStore.setState({ queued: { A: [], B: [] } });
  for (const slot of ['A', 'B'] as const) if (queued[slot].length > 0) void loadPhotos(client, slot, queued[slot]);
}

export function clearFace(slot: SlotId): void {
  latest[slot]++;
  replacePhoto(slot, null);
  useStore.getState().clearFace(slot);
  useStore.getState().resolve(alertSource(slot));
}
