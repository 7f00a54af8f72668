import { useEffect, useRef } from 'react';
import { useStore } from '../../store';
import { useEngine } from './engineContext';
import { jobFromState, runGeneration } from '../actions/generation';

// Long enough to merge the events of one slider drag, short enough to feel live.
const DEBOUNCE_MS = 120;

/**
 * Regenerates whenever a control that changes the image changes (while "live" is on): while a slider
 * is dragged, drafts at once (each shown before the next starts); otherwise, and on release, the full
 * image. With "live" off a change only marks the image outdated until Generate is pressed.
 */
export function useLiveGeneration(): void {
  const client = useEngine();
  const info = useStore((s) => s.info);
  const live = useStore((s) => s.live);
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
  const perImage = useStore((s) => s.randomFacePerImage);
  const dragging = useStore((s) => s.dragging);
  // With a random face per image the faces and variety are not used; t only matters with both faces.
  const usedA = perImage ? null : faceA;
  const usedB = perImage ? null : faceB;
  const usedVariety = perImage ? 0 : variety;
  const usedT = usedA && usedB ? t : -1;
  /** Drafts were sent since the last full image was asked for: the release must ask for it. */
  const drafted = useRef(false);

  useEffect(() => {
    if (info === null) return;
    const s = useStore.getState();
    s.bumpParamsVersion();
    if (live && s.dragging) {
      drafted.current = true;
      void runGeneration(client, jobFromState(useStore.getState(), 'draft'));
      return;
    }
    s.setGeneration({ pending: true });
    if (!live) return;
    const timer = setTimeout(() => void runGeneration(client, jobFromState(useStore.getState())), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [client, info, live, prompt, w, c, a, steps, seed, usedT, perImage, usedA, usedB, usedVariety]);

  useEffect(() => {
    if (dragging || !drafted.current || info === null) return;
    drafted.current = false;
    if (live) void runGeneration(client, jobFromState(useStore.getState()));
  }, [client, info, live, dragging]);
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
