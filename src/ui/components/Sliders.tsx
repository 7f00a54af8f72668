import { MAX_SEED, randomSeed, useStore } from '../../store';
import { Slider } from './Slider';

const fixed = (digits: number) => (v: number) => v.toFixed(digits);

/** Guidance (w, c, a), steps and seed. */
export function Sliders() {
  const w = useStore((s) => s.w);
  const c = useStore((s) => s.c);
  const a = useStore((s) => s.a);
  const steps = useStore((s) => s.steps);
  const seed = useStore((s) => s.seed);
  const setParam = useStore((s) => s.setParam);
  const setDragging = useStore((s) => s.setDragging);
  return (
    <section className="panel" aria-labelledby="sliders-title">
      <h2 id="sliders-title">Guidance</h2>
      <Slider
        label="Guidance w"
        min={0}
        max={15}
        step={0.5}
        value={w}
        format={fixed(1)}
        onDrag={setDragging}
        onChange={(v) => setParam('w', v)}
        hint="How strongly the prompt and face are followed"
      />
      <Slider
        label="Face guidance c"
        min={0}
        max={2}
        step={0.05}
        value={c}
        format={fixed(2)}
        onDrag={setDragging}
        onChange={(v) => setParam('c', v)}
        hint="1 = plain guidance, the most alike. Lower lets the prompt override the face (hair, hat, age): try 0.65 with w 6. Other values add rows to each U-Net call"
      />
      <Slider
        label="Face-only weight a"
        min={0}
        max={1}
        step={0.05}
        value={a}
        format={fixed(2)}
        onDrag={setDragging}
        onChange={(v) => setParam('a', v)}
        hint="When c ≠ 1: share of the face-without-prompt term against the prompt-without-face term"
      />
      <Slider label="Steps" min={1} max={50} step={1} value={steps} onDrag={setDragging} onChange={(v) => setParam('steps', v)} />
      <div className="row seed">
        <label htmlFor="seed">Seed</label>
        <input
          id="seed"
          type="number"
          min={0}
          max={MAX_SEED}
          step={1}
          value={seed}
          onChange={(e) => {
            const v = Number(e.target.value);
            if (Number.isInteger(v) && v >= 0 && v <= MAX_SEED) setParam('seed', v);
          }}
        />
        <button type="button" onClick={() => setParam('seed', randomSeed())}>
          New seed
        </button>
      </div>
    </section>
  );
}
