import { useState, type DragEvent } from 'react';
import { randomSeed, useStore, type SlotId } from '../../store';
import { useEngine } from '../hooks/engineContext';
import { clearFace, loadPhotos, loadRandomFace, photoProblems, pickFace } from '../actions/faceActions';
import { FacePhoto } from './FacePhoto';
import { RgbaCanvas } from './RgbaCanvas';
import { SaveFace } from './SaveFace';

/** One face source: a photo (picker or drop), a random face, or the average of several photos. */
export function FacePanel({ slot }: { slot: SlotId }) {
  const client = useEngine();
  const face = useStore((s) => s.faces[slot]);
  const ready = useStore((s) => s.info !== null);
  const queued = useStore((s) => s.queued[slot]);
  const perImage = useStore((s) => s.randomFacePerImage);
  const [dragging, setDragging] = useState(false);

  const onFiles = (files: File[]) => {
    if (files.length === 0) return;
    // Before the model is ready the photos wait (and say so); they are analysed as soon as it is.
    if (!ready) useStore.setState((s) => ({ queued: { ...s.queued, [slot]: files } }));
    else void loadPhotos(client, slot, files);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    onFiles([...e.dataTransfer.files]);
  };
  const problems = face.photo ? photoProblems(face.photo) : [];

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
            onChange={(e) => {
              onFiles([...(e.target.files ?? [])].slice(0, 1));
              e.target.value = '';
            }}
          />
        </label>
        <span className="hint">or drop photos here (several = average)</span>
      </div>
      <p className="hint consent">Use a photo of yourself or of someone who agreed to it. It is analysed on this device and never uploaded.</p>
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
            onChange={(e) => {
              onFiles([...(e.target.files ?? [])]);
              e.target.value = '';
            }}
          />
        </label>
        <button type="button" disabled={face.source === 'none'} onClick={() => clearFace(slot)}>
          Clear
        </button>
        <SaveFace slot={slot} />
      </div>
      {queued.length > 0 && (
        <p className="status" role="status" data-testid={`face-${slot}-queued`}>
          {queued.length === 1 ? queued[0].name : `${queued.length} photos`}: waiting for the model to load, then analysed.
        </p>
      )}
      {face.busy && <p className="status">Analysing…</p>}
      {perImage && face.source !== 'none' && <p className="hint">Not used while every image gets a random face of its own.</p>}
      {face.photo && <FacePhoto slot={slot} photo={face.photo} onPick={(i) => void pickFace(client, slot, i)} />}
      {problems.length > 0 && (
        <p className="warning" role="status" data-testid={`face-${slot}-likeness`}>
          Likely a poor likeness: {problems.join('; ')}.
        </p>
      )}
      <div className="face-summary">
        {face.crops.map((crop, i) => (
          <RgbaCanvas key={i} className="crop" image={crop} label={`Face ${slot} crop${face.crops.length > 1 ? ` ${i + 1}` : ''}`} />
        ))}
        <p data-testid={`face-${slot}-label`}>{face.source === 'none' ? 'No face: text only' : face.label}</p>
      </div>
    </section>
  );
}
