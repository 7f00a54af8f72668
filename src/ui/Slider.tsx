import { useId } from 'react';

export interface SliderProps {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  onChange: (value: number) => void;
  format?: (value: number) => string;
  disabled?: boolean;
  hint?: string;
}

/** A labelled range input that shows its value. */
export function Slider({ label, value, min, max, step, onChange, format = String, disabled, hint }: SliderProps) {
  const id = useId();
  const shown = format(value);
  return (
    <div className="slider">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        disabled={disabled}
        aria-valuetext={shown}
        onChange={(e) => onChange(Number(e.target.value))}
      />
      <output htmlFor={id}>{shown}</output>
      {hint && <small className="hint">{hint}</small>}
    </div>
  );
}
