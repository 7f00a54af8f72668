import { useState } from 'react';
import { useStore, type GalleryItem } from '../../store';
import { useEngine } from '../hooks/engineContext';
import { itemLabel } from '../actions/gallery';
import { ImageActions } from './ImageActions';
import { RgbaCanvas } from './RgbaCanvas';
import { runVariations, stopVariations, VARIATION_COUNTS } from '../actions/variations';

function describe(item: GalleryItem): string {
  const s = item.settings;
  const face =
    s.randomFaceSeed !== null
      ? 'random face per image'
      : [s.faceA && `A: ${s.faceA.label}`, s.faceB && `B: ${s.faceB.label}`, s.faceA && s.faceB && `t ${s.t}`]
          .filter(Boolean)
          .join(', ') || 'no face';
  return `"${s.prompt}" · seed ${s.seed} · w ${s.w}, c ${s.c}, a ${s.a} · ${s.steps} steps · ${face}${s.variety > 0 ? ` · variety ${s.variety}` : ''} · ${s.model}`;
}

function Thumb({ item, selected, onSelect }: { item: GalleryItem; selected: boolean; onSelect: () => void }) {
  const likeness = item.likeness === undefined ? '' : item.likeness === null ? ', no face found' : `, likeness ${item.likeness.toFixed(2)}`;
  return (
    <button type="button" className={selected ? 'thumb selected' : 'thumb'} aria-pressed={selected} onClick={onSelect} title={describe(item)}>
      <RgbaCanvas image={item} label={`Gallery ${itemLabel(item)}${likeness}`} />
      {item.likeness !== undefined && <span className="likeness">{item.likeness === null ? 'no face' : item.likeness.toFixed(2)}</span>}
    </button>
  );
}

/** Variations of the current settings, then every image of this page (newest first), each restorable. */
export function Gallery() {
  const client = useEngine();
  const gallery = useStore((s) => s.gallery);
  const variations = useStore((s) => s.variations);
  const loaded = useStore((s) => s.info !== null);
  const busy = useStore((s) => s.generation.running || s.generation.pending || s.faces.A.busy || s.faces.B.busy);
  const hasFace = useStore((s) => s.randomFacePerImage || s.faces.A.embedding !== null || s.faces.B.embedding !== null);
  const [count, setCount] = useState<number>(VARIATION_COUNTS[0]);
  const [byLikeness, setByLikeness] = useState(true);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const selected = gallery.find((g) => g.id === selectedId) ?? null;
  const batch = (variations?.ids ?? []).map((id) => gallery.find((g) => g.id === id)).filter((g) => g !== undefined);

  return (
    <section className="panel gallery" aria-labelledby="gallery-title">
      <h2 id="gallery-title">Variations and gallery</h2>
      <div className="row">
        <label>
          <select value={count} onChange={(e) => setCount(Number(e.target.value))} aria-label="Number of variations">
            {VARIATION_COUNTS.map((n) => (
              <option key={n} value={n}>
                {n} seeds
              </option>
            ))}
          </select>
        </label>
        <label className="toggle" title="Runs the face embedder on each image and sorts by likeness to the face it was made from">
          <input type="checkbox" checked={byLikeness && hasFace} disabled={!hasFace} onChange={(e) => setByLikeness(e.target.checked)} />
          Order by likeness to the face
        </label>
        {variations?.running ? (
          <button type="button" onClick={() => void stopVariations(client)}>
            Stop
          </button>
        ) : (
          <button type="button" disabled={!loaded || busy} onClick={() => void runVariations(client, count, byLikeness && hasFace)}>
            Make variations
          </button>
        )}
      </div>
      {variations && (
        <p className="status" role="status" data-testid="variations-status">
          {variations.running ? `Variation ${variations.done + 1} of ${variations.total}…` : (variations.stopped ?? `${variations.done} variations`)}
          {variations.byLikeness && variations.done > 0 ? ' (most alike first)' : ''}
        </p>
      )}
      {batch.length > 0 && (
        <div className="thumbs" aria-label="Variations">
          {batch.map((item) => (
            <Thumb key={item.id} item={item} selected={item.id === selectedId} onSelect={() => setSelectedId(item.id)} />
          ))}
        </div>
      )}
      {gallery.length === 0 ? (
        <p className="hint">Every image made on this page appears here; nothing is kept after the page closes.</p>
      ) : (
        <>
          <p className="hint">
            {gallery.length} image{gallery.length === 1 ? '' : 's'} since the page opened (kept until it closes). Select one to restore
            its settings or download it.
          </p>
          <div className="thumbs" aria-label="Gallery">
            {gallery.map((item) => (
              <Thumb key={item.id} item={item} selected={item.id === selectedId} onSelect={() => setSelectedId(item.id)} />
            ))}
          </div>
        </>
      )}
      {selected && (
        <div className="selected-item" data-testid="gallery-selected">
          <p className="hint">
            {itemLabel(selected)}: {describe(selected)}
          </p>
          <ImageActions item={selected} />
        </div>
      )}
    </section>
  );
}
