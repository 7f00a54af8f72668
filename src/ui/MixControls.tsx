import { useStore } from '../store';
import { Slider } from './Slider';

/** Interpolation between the two faces and the "variety" noise on the embedding. */
export function MixControls() {
  const t = useStore((s) => s.t);
  const variety = useStore((s) => s.variety);
  const setParam = useStore((s) => s.setParam);
  const setDragging = useStore((s) => s.setDragging);
  const both = useStore((s) => s.faces.A.embedding !== null && s.faces.B.embedding !== null);
  const any = useStore((s) => s.faces.A.embedding !== null || s.faces.B.embedding !== null);
  return (
    <section className="panel" aria-labelledby="mix-title">
      <h2 id="mix-title">Mix</h2>
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
        hint={both ? '0 = face A, 1 = face B' : 'Give both faces to blend them'}
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
