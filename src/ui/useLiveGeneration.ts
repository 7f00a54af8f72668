import { useEffect, useRef } from 'react';
import { useStore } from '../store';
import { useEngine } from './engineContext';
import { requestFromState, runGeneration } from './generation';

// Long enough to merge the events of one slider drag, short enough to feel live.
const DEBOUNCE_MS = 120;

/**
 * Regenerates whenever a control that changes the image changes: while a slider is dragged, drafts
 * at once (each shown before the next starts); otherwise, and on release, the full image.
 */
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
  const dragging = useStore((s) => s.dragging);
  // t only matters when both faces exist.
  const effectiveT = faceA && faceB ? t : -1;
  /** Drafts were sent since the last full image was asked for: the release must ask for it. */
  const drafted = useRef(false);

  useEffect(() => {
    if (info === null) return;
    const s = useStore.getState();
    s.bumpParamsVersion();
    if (s.dragging) {
      drafted.current = true;
      void runGeneration(client, requestFromState(useStore.getState(), 'draft'));
      return;
    }
    s.setGeneration({ pending: true });
    const timer = setTimeout(() => void runGeneration(client, requestFromState(useStore.getState())), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [client, info, prompt, w, c, a, steps, seed, effectiveT, variety, faceA, faceB]);

  useEffect(() => {
    if (dragging || !drafted.current || info === null) return;
    drafted.current = false;
    void runGeneration(client, requestFromState(useStore.getState()));
  }, [client, info, dragging]);
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
