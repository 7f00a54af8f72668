/**
 * src/face/detectionPasses.ts against its Python twin (training/face0/detection_passes.py): the Python
 * detector calls of every synthetic scene in tests/golden/extraction.json are replayed, so the same
 * rectangles must be asked for in the same order and the same faces must come out.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as passes from '../../src/face/detectionPasses';
import type { PassDetection, RawDetection, Rect } from '../../src/face/detectionPasses';

interface GoldenCall {
  rect: Rect;
  detections: { box: Rect; score: number; keypoints: [number, number][] }[];
}
interface GoldenScene {
  scene: { name: string; width: number; height: number };
  calls: GoldenCall[];
  faces: number;
  detections?: { box: Rect; score: number; keypoints: [number, number][]; found_by: string }[];
  chosen?: number;
}
const golden = JSON.parse(readFileSync(new URL('../golden/extraction.json', import.meta.url), 'utf8')) as {
  detector: { passes: Record<string, number> };
  scenes: GoldenScene[];
};

// The TypeScript constants keep Python's names.
const constant = (name: string) => (passes as unknown as Record<string, number>)[name];

describe('detection passes: the same algorithm as training/face0/detection_passes.py', () => {
  it('uses the same constants', () => {
    for (const [name, value] of Object.entries(golden.detector.passes)) expect(constant(name), name).toBe(value);
  });

  for (const scene of golden.scenes) {
    it(`${scene.scene.name}: asks for the same rectangles and finds the same ${scene.faces} face(s)`, async () => {
      let next = 0;
      const run = async (rect: Rect): Promise<RawDetection[]> => {
        const call = scene.calls[next++];
        expect(call, `call ${next}: Python made only ${scene.calls.length} calls`).toBeDefined();
        expect(rect, `call ${next}`).toEqual(call.rect);
        return call.detections.map((d) => ({ box: d.box, score: d.score, keypoints: d.keypoints.map(([x, y]) => ({ x, y })) }));
      };
      const faces: PassDetection[] = await passes.detectFaces(scene.scene.width, scene.scene.height, run);
      expect(next).toBe(scene.calls.length);
      expect(faces.length).toBe(scene.faces);
      faces.forEach((f, i) => {
        const want = scene.detections![i];
        // Goldens round boxes and keypoints to 1e-4 px and scores to 1e-6.
        for (const k of ['x', 'y', 'width', 'height'] as const) expect(f.box[k]).toBeCloseTo(want.box[k], 3);
        expect(f.score).toBeCloseTo(want.score, 5);
        expect(f.foundBy).toBe(want.found_by);
        f.keypoints.forEach((p, j) => {
          expect(p.x).toBeCloseTo(want.keypoints[j][0], 3);
          expect(p.y).toBeCloseTo(want.keypoints[j][1], 3);
        });
      });
    });
  }
});

describe('detection passes: geometry', () => {
  it('spreads tiles at most half a tile (and a rounding pixel) apart, the last flush with the end', () => {
    expect(passes.tilePositions(300, 400)).toEqual([0]);
    expect(passes.tilePositions(1024, 342)).toEqual([0, 170, 341, 512, 682]);
    for (const [size, tile] of [
      [1024, 342],
      [1000, 128],
      [777, 259],
    ]) {
      const p = passes.tilePositions(size, tile);
      expect(p[0]).toBe(0);
      expect(p.at(-1)).toBe(size - tile);
      for (let i = 1; i < p.length; i++) expect(p[i] - p[i - 1]).toBeLessThanOrEqual(tile / 2 + 1); // rounding: within a pixel
    }
  });

  it('skips tiles smaller than the detector input', () => {
    expect(passes.tileGrid(178, 218)).toEqual([]);
    expect(passes.tileGrid(384, 300).length).toBeGreaterThan(0);
    const grid = passes.tileGrid(1024, 512);
    expect(grid.every((r) => r.width === 342 && r.height === 342 && r.x + r.width <= 1024 && r.y + r.height <= 512)).toBe(true);
  });

  it('rounds halves to even as Python does', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 2.5001].map(passes.pyRound)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  it('zooms around a small box, clipped, and not at all when the region is the whole image', () => {
    expect(passes.zoomRect({ x: 100, y: 100, width: 20, height: 20 }, 1000, 1000)).toEqual({ x: 75, y: 75, width: 70, height: 70 });
    expect(passes.zoomRect({ x: 0, y: 0, width: 20, height: 20 }, 1000, 1000)).toEqual({ x: 0, y: 0, width: 45, height: 45 });
    expect(passes.zoomRect({ x: 10, y: 10, width: 80, height: 80 }, 100, 100)).toBeNull();
  });

  it('merges the same face found twice, keeping the higher score', () => {
    const d = (x: number, w: number, score: number): PassDetection => ({
      box: { x, y: 0, width: w, height: w },
      score,
      keypoints: [],
      foundBy: 'full',
    });
    // A box grown past the face (low score) around the real face (high score): the face wins.
    expect(passes.suppressOverlaps([d(0, 100, 0.55), d(30, 30, 0.9)]).map((k) => k.score)).toEqual([0.9]);
    // Side by side: both kept.
    expect(passes.suppressOverlaps([d(0, 50, 0.8), d(60, 50, 0.9)]).length).toBe(2);
  });

  it('rejects tile faces cut by an inner tile edge or too large for the tile, and implausible eyes', () => {
    const tile = { x: 100, y: 0, width: 300, height: 300 };
    expect(passes.insideTile({ x: 150, y: 50, width: 60, height: 60 }, tile, 1000, 300)).toBe(true);
    expect(passes.insideTile({ x: 100, y: 50, width: 60, height: 60 }, tile, 1000, 300)).toBe(false);
    expect(passes.insideTile({ x: 350, y: 50, width: 50, height: 50 }, tile, 1000, 300)).toBe(false);
    expect(passes.insideTile({ x: 150, y: 0, width: 60, height: 60 }, tile, 1000, 300)).toBe(true); // image edge
    expect(passes.insideTile({ x: 150, y: 50, width: 160, height: 160 }, tile, 1000, 300)).toBe(false);
    const face = (eyes: number, score: number, foundBy: 'full' | 'tile'): PassDetection => ({
      box: { x: 0, y: 0, width: 100, height: 100 },
      score,
      keypoints: [
        { x: 50 - eyes / 2, y: 40 },
        { x: 50 + eyes / 2, y: 40 },
      ],
      foundBy,
    });
    expect(passes.isPlausible(face(40, 0.6, 'full'))).toBe(true);
    expect(passes.isPlausible(face(40, 0.6, 'tile'))).toBe(false);
    expect(passes.isPlausible(face(8, 0.95, 'full'))).toBe(false);
  });
});
