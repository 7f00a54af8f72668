import { useEffect } from 'react';
import { useStore } from '../store';
import { useEngine } from './engineContext';
import { requestFromState, runGeneration } from './generation';

// Long enough to merge the events of one slider drag, short enough to feel live.
const DEBOUNCE_MS = 120;

/** Regenerates whenever a control that changes the image changes. */
export function useLiveGeneration(): void {
  const client = useEngine();
  const info = useStore((s) => s.info);
  const prompt = useStore((s) => s.prompt);
  const w = useStore((s) => s.w);
  const c = useStore((s) => s.c);
  const a = useStore((s) => s.a);
  const steps = useStore((s) => s.steps);
  const seed = useStore((s) => s.seed);
  const t = useStore((s) => s.t);
  const variety = useStore((s) => s.variety);
  const faceA = useStore((s) => s.faces.A.embedding);
  const faceB = useStore((s) => s.faces.B.embedding);
  // t only matters when both faces exist.
  const effectiveT = faceA && faceB ? t : -1;

  useEffect(() => {
    if (info === null) return;
    useStore.getState().setGeneration({ pending: true });
    const timer = setTimeout(() => void runGeneration(client, requestFromState(useStore.getState())), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [client, info, prompt, w, c, a, steps, seed, effectiveT, variety, faceA, faceB]);
}

/** Keeps the prompt's token count current. */
export function usePromptInfo(): void {
  const client = useEngine();
  const info = useStore((s) => s.info);
  const prompt = useStore((s) => s.prompt);

  useEffect(() => {
    if (info === null) return;
    let alive = true;
    const timer = setTimeout(() => {
      client
        .promptInfo(prompt)
        .then((p) => alive && useStore.getState().setPromptInfo(p))
        .catch(() => alive && useStore.getState().setPromptInfo(null));
    }, 60);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [client, info, prompt]);
}
