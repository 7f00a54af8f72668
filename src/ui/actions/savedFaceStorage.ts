/**
 * Saved faces in this browser's localStorage (opt-in: nothing is written until the user saves a face).
 * Only names and embeddings are stored (src/results/savedFaces.ts).
 */
import { decodeSavedFaces, encodeSavedFaces, SAVED_FACES_KEY, uniqueName, type SavedFace } from '../../results/savedFaces';
import { useStore } from '../../store';

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage disabled (some privacy modes throw on access)
  }
}

function write(faces: SavedFace[]): void {
  const store = storage();
  if (store === null) throw new Error('this browser does not allow the page to store data');
  if (faces.length === 0) store.removeItem(SAVED_FACES_KEY);
  else store.setItem(SAVED_FACES_KEY, encodeSavedFaces(faces));
  useStore.setState({ savedFaces: faces });
}

/** Reads the saved faces at start; unreadable entries are reported, not dropped from storage. */
export function loadSavedFaces(): void {
  const { faces, problems } = decodeSavedFaces(storage()?.getItem(SAVED_FACES_KEY) ?? null);
  useStore.setState({ savedFaces: faces });
  if (problems.length > 0) {
    useStore.getState().raise('saved-faces', { level: 'warning', title: 'Some saved faces could not be read', detail: problems.join('; ') });
  }
}

export function saveFace(name: string, embedding: Float32Array, embedderId: string): SavedFace {
  const faces = useStore.getState().savedFaces;
  const face: SavedFace = {
    id: crypto.randomUUID(),
    name: uniqueName(name, faces.map((f) => f.name)),
    embedderId,
    embedding: Float32Array.from(embedding),
    savedAt: new Date().toISOString(),
  };
  write([...faces, face]);
  return face;
}

export function deleteSavedFace(id: string): void {
  write(useStore.getState().savedFaces.filter((f) => f.id !== id));
}
