/** Pure engine pieces: image sniffing/truncation, crop source rectangle, backend choice, error codes, supersede. */
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { chooseBackend } from '../../src/engineWorker/backend';
import { EngineError, toEngineError } from '../../src/shared/engineError';
import { Superseding } from '../../src/engineClient/supersede';
import { checkImageBytes, cropSourceRect, detectionSize, sniffImageKind, truncationProblem } from '../../src/face/decodeImage';
import { cropAndResize } from '../../src/face/resample';
import type { RgbImage } from '../../src/shared/pixels';

const jpeg = new Uint8Array(readFileSync(new URL('../../node_modules/@vladmandic/face-api/demo/sample2.jpg', import.meta.url)));

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  new DataView(out.buffer).setUint32(0, data.length);
  out.set(Array.from(type, (c) => c.charCodeAt(0)), 4);
  out.set(data, 8);
  return out; // CRC left 0: only the chunk structure is checked
}

function png(): Uint8Array {
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, 2);
  new DataView(ihdr.buffer).setUint32(4, 2);
  ihdr.set([8, 2], 8);
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(new Uint8Array(2 * 7))),
    chunk('IEND', new Uint8Array(0)),
  ];
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

describe('image bytes', () => {
  it('sniffs formats by magic bytes', () => {
    expect(sniffImageKind(jpeg)).toBe('jpeg');
    expect(sniffImageKind(png())).toBe('png');
    expect(sniffImageKind(new TextEncoder().encode('GIF89a...'))).toBe('gif');
    expect(sniffImageKind(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(sniffImageKind(new TextEncoder().encode('<html>'))).toBeNull();
  });

  it('finds a complete JPEG complete and every cut of it truncated', () => {
    expect(truncationProblem('jpeg', jpeg)).toBeNull();
    for (const n of [10, 200, 5000, jpeg.length / 2, jpeg.length - 2]) {
      expect(truncationProblem('jpeg', jpeg.subarray(0, Math.floor(n)))).not.toBeNull();
    }
  });

  it('finds a PNG without IEND truncated', () => {
    const full = png();
    expect(truncationProblem('png', full)).toBeNull();
    expect(truncationProblem('png', full.subarray(0, full.length - 12))).toMatch(/IEND/);
    expect(truncationProblem('png', full.subarray(0, 40))).toMatch(/IEND/);
  });

  it('maps problems to error codes with a readable message', () => {
    expect(() => checkImageBytes(new TextEncoder().encode('hello'), 'text/plain')).toThrow(
      expect.objectContaining({ code: 'not_an_image', message: expect.stringContaining('read as text/plain') }),
    );
    expect(() => checkImageBytes(new Uint8Array(0), '')).toThrow(expect.objectContaining({ message: expect.stringContaining('empty') }));
    expect(() => checkImageBytes(jpeg.subarray(0, 1000), 'image/jpeg')).toThrow(expect.objectContaining({ code: 'corrupt_image' }));
    expect(checkImageBytes(jpeg, 'image/jpeg')).toBe('jpeg');
  });

  it('sizes the detection copy like face0.extraction.detection_size', () => {
    expect(detectionSize(1920, 1367, 1024)).toEqual({ width: 1024, height: 729 });
    expect(detectionSize(640, 480, 1024)).toEqual({ width: 640, height: 480 });
  });
});

describe('cropSourceRect', () => {
  it('reading only the rectangle gives the same crop as the whole image (tolerance 1e-3 of 255)', () => {
    const W = 97;
    const H = 83;
    const data = new Float32Array(W * H * 3).map((_, i) => (i * 37) % 256);
    const img: RgbImage = { width: W, height: H, data };
    for (const box of [
      { x: 20.3, y: 11.7, width: 40.5, height: 40.5 },
      { x: -10, y: -5, width: 60, height: 60 }, // partly outside: outside stays black
      { x: 50, y: 40, width: 8, height: 8 }, // upscaling
    ]) {
      const size = 16;
      const r = cropSourceRect(box, size, W, H);
      const region = new Float32Array(r.width * r.height * 3);
      for (let y = 0; y < r.height; y++) region.set(data.subarray(((r.y + y) * W + r.x) * 3, ((r.y + y) * W + r.x + r.width) * 3), y * r.width * 3);
      const a = cropAndResize(img, box, size).data;
      const b = cropAndResize({ width: r.width, height: r.height, data: region }, { ...box, x: box.x - r.x, y: box.y - r.y }, size).data;
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-3);
    }
  });
});

describe('chooseBackend', () => {
  const env = { webgpuProblem: null, crossOriginIsolated: true, hardwareConcurrency: 16 };
  it('prefers WebGPU, else wasm with the reason; threads need cross-origin isolation', () => {
    expect(chooseBackend('auto', env)).toEqual({ backend: 'webgpu', wasmThreads: 4, fallbackReason: null });
    expect(chooseBackend('auto', { ...env, webgpuProblem: 'no adapter', hardwareConcurrency: 2 })).toEqual({
      backend: 'wasm',
      wasmThreads: 2,
      fallbackReason: 'WebGPU unavailable: no adapter',
    });
    expect(chooseBackend('wasm', { ...env, crossOriginIsolated: false })).toEqual({ backend: 'wasm', wasmThreads: 1, fallbackReason: null });
  });
});

describe('errors across comlink', () => {
  it('recovers the code from the name comlink carries', () => {
    const sent = new EngineError('no_face', 'No face found in this photo');
    const received = Object.assign(new Error(sent.message), { name: sent.name });
    expect(toEngineError(received)).toMatchObject({ code: 'no_face', message: 'No face found in this photo' });
    expect(toEngineError(new TypeError('boom'))).toMatchObject({ code: 'internal', message: 'boom' });
    expect(toEngineError(12345)).toMatchObject({ code: 'internal' });
  });
});

describe('Superseding', () => {
  it('keeps one run and one pending request; superseded ones reject with "cancelled"', async () => {
    const started: number[] = [];
    let stops = 0;
    const finishers: (() => void)[] = [];
    const s = new Superseding<number, number, never>(
      (req) => {
        started.push(req);
        return new Promise<number>((resolve, reject) => {
          finishers.push(() => (stops > 0 && req === 1 ? reject(new EngineError('cancelled', 'stopped')) : resolve(req * 10)));
        });
      },
      async () => {
        stops++;
      },
    );
    const settle = (p: Promise<number>) => p.then((v) => v, (e) => toEngineError(e).code);
    const a = settle(s.submit(1, () => undefined));
    const b = settle(s.submit(2, () => undefined));
    const c = settle(s.submit(3, () => undefined));
    expect(started).toEqual([1]);
    expect(stops).toBe(2);
    finishers[0]();
    expect(await a).toBe('cancelled');
    expect(await b).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([1, 3]);
    finishers[1]();
    expect(await c).toBe(30);
  });


  it('lets the run in flight finish when mayInterrupt says no (a draft after a draft), and runs the newest after it', async () => {
    interface Req {
      id: number;
      draft: boolean;
    }
    const started: number[] = [];
    let stops = 0;
    const finishers: (() => void)[] = [];
    const s = new Superseding<Req, number, never>(
      (req) => {
        started.push(req.id);
        return new Promise<number>((resolve) => finishers.push(() => resolve(req.id)));
      },
      async () => {
        stops++;
      },
      (running, next) => !(running.draft && next.draft),
    );
    const settle = (p: Promise<number>) => p.then((v) => v, (e) => toEngineError(e).code);
    const a = settle(s.submit({ id: 1, draft: true }, () => undefined));
    const b = settle(s.submit({ id: 2, draft: true }, () => undefined));
    const c = settle(s.submit({ id: 3, draft: true }, () => undefined));
    expect(stops).toBe(0); // drafts wait for the draft in flight
    expect(await b).toBe('cancelled'); // replaced by a newer waiting draft
    finishers[0]();
    expect(await a).toBe(1); // shown, not cancelled
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([1, 3]);
    const d = settle(s.submit({ id: 4, draft: false }, () => undefined));
    expect(stops).toBe(1); // the final image stops the draft in flight
    finishers[1]();
    expect(await c).toBe(3);
    await new Promise((r) => setTimeout(r, 0));
    finishers[2]();
    expect(await d).toBe(4);
  });
});
