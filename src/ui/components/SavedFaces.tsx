import { useStore } from '../../store';
import { placeSavedFace } from '../actions/faceActions';
import { deleteSavedFace } from '../actions/savedFaceStorage';

/** Faces saved in this browser: use one as face A or B, or delete it. */
export function SavedFaces() {
  const faces = useStore((s) => s.savedFaces);
  const embedderId = useStore((s) => s.info?.manifest.face_embedder.id ?? null);
  return (
    <section className="panel saved-faces" aria-labelledby="saved-title">
      <h2 id="saved-title">Saved faces</h2>
      {faces.length === 0 ? (
        <p className="hint">
          None. “Save face…” under a face keeps its embedding (never the photo) in this browser, to reuse after a reload.
        </p>
      ) : (
        <ul>
          {faces.map((f) => {
            const usable = embedderId === null || f.embedderId === embedderId;
            return (
              <li key={f.id} data-testid="saved-face">
                <span className="name">{f.name}</span>
                {!usable && <small className="hint"> (made with another face embedder)</small>}
                <button type="button" disabled={!usable || embedderId === null} onClick={() => placeSavedFace('A', f)}>
                  Use as A
                </button>
                <button type="button" disabled={!usable || embedderId === null} onClick={() => placeSavedFace('B', f)}>
                  Use as B
                </button>
                <button type="button" aria-label={`Delete saved face ${f.name}`} onClick={() => deleteSavedFace(f.id)}>
                  Delete
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
