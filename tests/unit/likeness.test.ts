import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DetectedFace } from '../../src/engineWorker/api';
import { describeProblem, likenessProblems, noseOffset, SMALL_FACE_PX } from '../../src/face/likeness';

interface GoldenDetection {
  box: DetectedFace['box'];
  score: number;
  keypoints: [number, number][];
  found_by: 'full' | 'tile';
}
const golden = JSON.parse(readFileSync(new URL('../golden/extraction.json', import.meta.url), 'utf8')) as {
  photos: { path: string; width: number; height: number; detections: GoldenDetection[] }[];
  scenes: { scene: { name: string; width: number; height: number }; detections?: GoldenDetection[] }[];
};
const face = (d: GoldenDetection): DetectedFace => ({
  box: d.box,
  score: d.score,
  keypoints: d.keypoints.map(([x, y]) => ({ x, y })),
  foundBy: d.found_by,
});

describe('likeness problems', () => {
  it('finds none for the golden CelebA photos (frontal or three-quarter, 90-110 px faces)', () => {
    for (const p of golden.photos) {
      expect(likenessProblems(face(p.detections[0]), p.width, p.height), p.path).toEqual([]);
    }
  });

  it('calls the 5% scene face small and the 40% one fine', () => {
    const scene = (name: string) => golden.scenes.find((s) => s.scene.name === name)!;
    const small = scene('one-face-5pct');
    const problems = likenessProblems(face(small.detections![0]), small.scene.width, small.scene.height);
    expect(problems.map((p) => p.kind)).toEqual(['small']);
    expect(describeProblem(problems[0])).toMatch(new RegExp(`only \\d+ px wide \\(under ${SMALL_FACE_PX}\\)`));
    const large = scene('one-face-40pct');
    expect(likenessProblems(face(large.detections![0]), large.scene.width, large.scene.height)).toEqual([]);
  });

  it('measures how far the nose is off the eyes, whatever the roll', () => {
    const at = (angle: number, offset: number): DetectedFace => {
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const p = (x: number, y: number) => ({ x: 100 + x * c - y * s, y: 100 + x * s + y * c });
      return { box: { x: 50, y: 50, width: 100, height: 100 }, score: 0.9, keypoints: [p(-20, 0), p(20, 0), p(40 * offset, 25)], foundBy: 'full' };
    };
    for (const angle of [0, 0.4, -0.9]) {
      expect(noseOffset(at(angle, 0.1))).toBeCloseTo(0.1, 9);
      expect(noseOffset(at(angle, -0.5))).toBeCloseTo(-0.5, 9);
    }
    expect(likenessProblems(at(0.3, 0.55), 400, 400).map((p) => p.kind)).toEqual(['turned']);
    expect(likenessProblems(at(0.3, 0.2), 400, 400)).toEqual([]);
  });

  it('flags low scores and faces cut by the border', () => {
    const f: DetectedFace = {
      box: { x: -30, y: 10, width: 100, height: 100 },
      score: 0.6,
      keypoints: [
        { x: 0, y: 50 },
        { x: 40, y: 50 },
        { x: 20, y: 70 },
      ],
      foundBy: 'full',
    };
    const kinds = likenessProblems(f, 300, 300).map((p) => p.kind);
    expect(kinds).toEqual(['uncertain', 'cut_off']);
  });
});
