import { useStore } from '../../store';
import { Slider } from './Slider';

/** Interpolation between the two faces and the "variety" noise on the embedding. */
export function MixControls() {
  const t = useStore((s) => s.t);
  const variety = useStore((s) => s.variety);
  const setParam = useStore((s) => s.setParam);
  const setDragging = useStore((s) => s.setDragging);
  const perImage = useStore((s) => s.randomFacePerImage);
  const both = useStore((s) => !s.randomFacePerImage && s.faces.A.embedding !== null && s.faces.B.embedding !== null);
  const any = useStore((s) => !s.randomFacePerImage && (s.faces.A.embedding !== null || s.faces.B.embedding !== null));
  return (
    <section className="panel" aria-labelledby="mix-title">
      <h2 id="mix-title">Mix</h2>
      <label className="toggle" title="Paper, section 3.1: the people in the images are then not tied to the prompt's words">
        <input type="checkbox" checked={perImage} onChange={(e) => useStore.setState({ randomFacePerImage: e.target.checked })} />A new
        random face for every image
      </label>
      {perImage && <small className="hint">Each seed draws its own person; “Pin its random face” under an image keeps one.</small>}
      <Slider
        label="Face A to face B (t)"
        min={0}
        max={1}
        step={0.05}
        value={t}
        format={(v) => v.toFixed(2)}
        onDrag={setDragging}
        onChange={(v) => setParam('t', v)}
        disabled={!both}
        hint={both ? '0 = face A, 1 = face B' : perImage ? 'Not used with a random face per image' : 'Give both faces to blend them'}
      />
      <Slider
        label="Variety"
        min={0}
        max={1}
        step={0.05}
        value={variety}
        format={(v) => v.toFixed(2)}
        onDrag={setDragging}
        onChange={(v) => setParam('variety', v)}
        disabled={!any}
        hint="Random noise on the face embedding (relative to its size); the seed picks the noise"
      />
    </section>
  );
}
