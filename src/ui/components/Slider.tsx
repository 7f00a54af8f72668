import { useId } from 'react';

export interface SliderProps {
  label: string;
  /** null: not known yet (the bundle sets it when it loads). */
  value: number | null;
  min: number;
  max: number;
  step: number;
  onChange: (value: number) => void;
  format?: (value: number) => string;
  disabled?: boolean;
  hint?: string;
  /** Called with true when a pointer starts dragging the thumb and false when it lets go. */
  onDrag?: (dragging: boolean) => void;
}

/** A labelled range input that shows its value. */
export function Slider({ label, value, min, max, step, onChange, format = String, disabled, hint, onDrag }: SliderProps) {
  const id = useId();
  const shown = value === null ? '…' : format(value);
  return (
    <div className="slider">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="range"
        min={min}
        max={max}
        step={step}
        // '' puts the thumb in the middle until the value is known.
        value={value ?? ''}
        disabled={disabled}
        aria-valuetext={value === null ? 'set by the model when it loads' : shown}
        onChange={(e) => onChange(Number(e.target.value))}
        onPointerDown={() => {
          if (!onDrag) return;
          onDrag(true);
          // The pointer may be released anywhere on the page.
          const end = () => {
            window.removeEventListener('pointerup', end);
            window.removeEventListener('pointercancel', end);
            onDrag(false);
          };
          window.addEventListener('pointerup', end);
          window.addEventListener('pointercancel', end);
        }}
      />
      <output htmlFor={id}>{shown}</output>
      {hint && <small className="hint">{hint}</small>}
    </div>
  );
}
