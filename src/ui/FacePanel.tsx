import { useState, type DragEvent } from 'react';
import { randomSeed, useStore, type SlotId } from '../store';
import { useEngine } from './engineContext';
import { clearFace, loadAverage, loadPhoto, loadRandomFace, pickFace } from './faceActions';
import { FacePhoto } from './FacePhoto';
import { RgbaCanvas } from './RgbaCanvas';

/** One face source: a photo (picker or drop), a random face, or the average of several photos. */
export function FacePanel({ slot }: { slot: SlotId }) {
  const client = useEngine();
  const face = useStore((s) => s.faces[slot]);
  const ready = useStore((s) => s.info !== null);
  const [dragging, setDragging] = useState(false);

  const onFiles = (files: File[]) => {
    if (files.length === 1) void loadPhoto(client, slot, files[0]);
    else if (files.length > 1) void loadAverage(client, slot, files);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    if (ready) onFiles([...e.dataTransfer.files]);
  };

  return (
    <section className="panel face-panel" aria-labelledby={`face-${slot}-title`} aria-busy={face.busy}>
      <h2 id={`face-${slot}-title`}>Face {slot}</h2>
      <div
        className={dragging ? 'dropzone dragging' : 'dropzone'}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <label className="button">
          Choose photo…
          <input
            className="visually-hidden"
            type="file"
            accept="image/*"
            aria-label={`Photo for face ${slot}`}
            disabled={!ready}
            onChange={(e) => {
              onFiles([...(e.target.files ?? [])].slice(0, 1));
              e.target.value = '';
            }}
          />
        </label>
        <span className="hint">or drop photos here (several = average)</span>
      </div>
      <div className="row">
        <button type="button" disabled={!ready} onClick={() => void loadRandomFace(client, slot, randomSeed())}>
          Random face
        </button>
        <label className="button">
          Average several photos…
          <input
            className="visually-hidden"
            type="file"
            accept="image/*"
            multiple
            aria-label={`Average several photos for face ${slot}`}
            disabled={!ready}
            onChange={(e) => {
              void loadAverage(client, slot, [...(e.target.files ?? [])]);
              e.target.value = '';
            }}
          />
        </label>
        <button type="button" disabled={face.source === 'none'} onClick={() => clearFace(slot)}>
          Clear
        </button>
      </div>
      {face.busy && <p className="status">Analysing…</p>}
      {face.photo && <FacePhoto slot={slot} photo={face.photo} onPick={(i) => void pickFace(client, slot, i)} />}
      <div className="face-summary">
        {face.crops.map((crop, i) => (
          <RgbaCanvas key={i} className="crop" image={crop} label={`Face ${slot} crop${face.crops.length > 1 ? ` ${i + 1}` : ''}`} />
        ))}
        <p data-testid={`face-${slot}-label`}>{face.source === 'none' ? 'No face: text only' : face.label}</p>
      </div>
    </section>
  );
}
