import { useState } from 'react';
import { useStore, type SlotId } from '../../store';
import { saveFace } from '../actions/savedFaceStorage';

/** "Save face…": keeps the slot's embedding (never the photo) in this browser under a name. */
export function SaveFace({ slot }: { slot: SlotId }) {
  const face = useStore((s) => s.faces[slot]);
  const embedderId = useStore((s) => s.info?.manifest.face_embedder.id ?? null);
  const [name, setName] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  if (face.embedding === null || embedderId === null) return null;
  if (name === null) {
    return (
      <>
        <button
          type="button"
          onClick={() => {
            setName(face.label.replace(/\.[a-z0-9]+$/i, ''));
            setSaved(null);
          }}
        >
          Save face…
        </button>
        {saved && (
          <span className="status" role="status">
            Saved as “{saved}” in this browser
          </span>
        )}
      </>
    );
  }
  const submit = () => {
    try {
      setSaved(saveFace(name, face.embedding!, embedderId).name);
    } catch (err) {
      useStore.getState().raise('saved-faces', { level: 'error', title: 'Could not save the face', detail: String(err) });
    }
    setName(null);
  };
  return (
    <form
      className="save-face"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label>
        Name <input value={name} maxLength={60} onChange={(e) => setName(e.target.value)} aria-label={`Name for saved face ${slot}`} autoFocus />
      </label>
      <button type="submit">Save</button>
      <button type="button" onClick={() => setName(null)}>
        Cancel
      </button>
      <small className="hint">Kept in this browser only: the face's 256 numbers, not the photo. Delete it any time below.</small>
    </form>
  );
}
