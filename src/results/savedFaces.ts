/**
 * Faces the user chose to keep in this browser: a name and the face embedding (never the photo or
 * its crop), tagged with the embedder that made it, so a bundle with another embedder cannot use it.
 * Stored as JSON under one localStorage key (src/ui/actions/savedFaceStorage.ts).
 */

export interface SavedFace {
  id: string;
  name: string;
  /** manifest.face_embedder.id of the bundle that made the embedding. */
  embedderId: string;
  embedding: Float32Array;
  /** ISO 8601. */
  savedAt: string;
}

export const SAVED_FACES_KEY = 'face0:saved-faces';
export const MAX_NAME_LENGTH = 60;

interface StoredFace {
  id: string;
  name: string;
  embedder_id: string;
  /** Float32 little-endian, base64. */
  embedding: string;
  saved_at: string;
}

export function embeddingToBase64(e: Float32Array): string {
  const bytes = new Uint8Array(e.length * 4);
  const view = new DataView(bytes.buffer);
  e.forEach((v, i) => view.setFloat32(4 * i, v, true));
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function base64ToEmbedding(text: string): Float32Array {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (bytes.length % 4 !== 0) throw new Error(`${bytes.length} bytes is not a whole number of float32 values`);
  const view = new DataView(bytes.buffer);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
}

export function encodeSavedFaces(faces: SavedFace[]): string {
  const stored: StoredFace[] = faces.map((f) => ({
    id: f.id,
    name: f.name,
    embedder_id: f.embedderId,
    embedding: embeddingToBase64(f.embedding),
    saved_at: f.savedAt,
  }));
  return JSON.stringify({ version: 1, faces: stored });
}

/** The faces in `json`; entries that cannot be read are skipped and described in `problems`. */
export function decodeSavedFaces(json: string | null): { faces: SavedFace[]; problems: string[] } {
  if (json === null) return { faces: [], problems: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { faces: [], problems: ['the saved faces could not be read (not JSON)'] };
  }
  const list = (parsed as { faces?: unknown })?.faces;
  if (!Array.isArray(list)) return { faces: [], problems: ['the saved faces could not be read (no list of faces)'] };
  const faces: SavedFace[] = [];
  const problems: string[] = [];
  list.forEach((entry: Partial<StoredFace>, i) => {
    try {
      if (typeof entry.name !== 'string' || typeof entry.embedder_id !== 'string' || typeof entry.embedding !== 'string') {
        throw new Error('missing fields');
      }
      const embedding = base64ToEmbedding(entry.embedding);
      if (embedding.length === 0 || !embedding.every(Number.isFinite)) throw new Error('the embedding is empty or not finite');
      faces.push({
        id: typeof entry.id === 'string' ? entry.id : `saved-${i}`,
        name: entry.name.slice(0, MAX_NAME_LENGTH),
        embedderId: entry.embedder_id,
        embedding,
        savedAt: typeof entry.saved_at === 'string' ? entry.saved_at : '',
      });
    } catch (err) {
      problems.push(`saved face ${i + 1} skipped: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return { faces, problems };
}

/** A trimmed, non-empty name, unique among `existing` (a number is added when needed). */
export function uniqueName(wanted: string, existing: string[]): string {
  const base = wanted.trim().replace(/\s+/g, ' ').slice(0, MAX_NAME_LENGTH) || 'Face';
  if (!existing.includes(base)) return base;
  for (let n = 2; ; n++) {
    const name = `${base} (${n})`;
    if (!existing.includes(name)) return name;
  }
}
