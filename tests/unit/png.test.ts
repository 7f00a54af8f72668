/**
 * src/results/png.ts parsed back by an independent reader written here: chunk walk, CRCs checked with
 * Node's zlib.crc32, pixels inflated with Node's zlib, text chunks decoded per the PNG spec.
 */
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AI_STATEMENT, IPTC_AI_SOURCE, pngFileName, pngTexts, type ImageSettings } from '../../src/results/imageSettings';
import { checkKeyword, crc32, encodePng, PNG_SIGNATURE } from '../../src/results/png';

interface Parsed {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  rgba: Uint8Array;
  texts: { type: string; keyword: string; text: string }[];
  order: string[];
}

function parsePng(bytes: Uint8Array): Parsed {
  expect(Array.from(bytes.subarray(0, 8))).toEqual(Array.from(PNG_SIGNATURE));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  const texts: Parsed['texts'] = [];
  const order: string[] = [];
  let header: DataView | null = null;
  let at = 8;
  while (at < bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    expect(view.getUint32(at + 8 + length), `${type} CRC`).toBe(zlibCrc32(bytes.subarray(at + 4, at + 8 + length)));
    order.push(type);
    if (type === 'IHDR') header = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (type === 'IDAT') idat.push(data);
    if (type === 'tEXt') {
      const nul = data.indexOf(0);
      texts.push({ type, keyword: latin1(data.subarray(0, nul)), text: latin1(data.subarray(nul + 1)) });
    }
    if (type === 'iTXt') {
      const nul = data.indexOf(0);
      expect(data[nul + 1]).toBe(0); // not compressed
      const lang = data.indexOf(0, nul + 3);
      const translated = data.indexOf(0, lang + 1);
      texts.push({ type, keyword: latin1(data.subarray(0, nul)), text: new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(translated + 1)) });
    }
    at += 12 + length;
    if (type === 'IEND') break;
  }
  expect(at).toBe(bytes.length);
  expect(header).not.toBeNull();
  const width = header!.getUint32(0);
  const height = header!.getUint32(4);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  expect(raw.length).toBe((stride + 1) * height);
  const rgba = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)], 'filter type').toBe(0);
    rgba.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, bitDepth: header!.getUint8(8), colorType: header!.getUint8(9), rgba, texts, order };
}

function latin1(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

function image(width: number, height: number) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37 + (i >> 7)) & 0xff;
  return { width, height, rgba };
}

const SETTINGS: ImageSettings = {
  prompt: 'a photo of a smiling woman with glasses — “Zoë”, 微笑',
  seed: 4242,
  w: 7.5,
  c: 1,
  a: 0,
  steps: 10,
  faceA: { source: 'photo', label: 'me.jpg', randomSeed: null, embedding: Float32Array.of(0.5, 1.5), crops: [] },
  faceB: { source: 'random', label: 'Random face (seed 9)', randomSeed: 9, embedding: Float32Array.of(2, 3), crops: [] },
  t: 0.25,
  variety: 0,
  randomFaceSeed: null,
  model: 'face0-celeba64',
  bundle: 'default',
};

describe('PNG writer', () => {
  it('computes the CRC-32 PNG uses', () => {
    for (const text of ['', 'IEND', 'The quick brown fox']) {
      const bytes = new TextEncoder().encode(text);
      expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    }
  });

  it('round-trips pixels and text chunks, texts before the pixels', async () => {
    const img = image(37, 11);
    const png = await encodePng(img, [
      { keyword: 'Comment', text: 'plain ASCII\nsecond line' },
      { keyword: 'Description', text: 'Zoë 微笑' },
    ]);
    const p = parsePng(png);
    expect([p.width, p.height, p.bitDepth, p.colorType]).toEqual([37, 11, 8, 6]);
    expect(Array.from(p.rgba)).toEqual(Array.from(img.rgba));
    expect(p.order).toEqual(['IHDR', 'tEXt', 'iTXt', 'IDAT', 'IEND']);
    expect(p.texts).toEqual([
      { type: 'tEXt', keyword: 'Comment', text: 'plain ASCII\nsecond line' },
      { type: 'iTXt', keyword: 'Description', text: 'Zoë 微笑' },
    ]);
  });

  it('writes the settings and the AI-generated statement, but no face embedding', async () => {
    const created = new Date(Date.UTC(2026, 11, 6, 12, 0, 0));
    const p = parsePng(await encodePng(image(8, 8), pngTexts(SETTINGS, created)));
    const text = Object.fromEntries(p.texts.map((t) => [t.keyword, t.text]));
    expect(text.Disclaimer).toContain(AI_STATEMENT);
    expect(text.Disclaimer).toContain('face0-celeba64');
    expect(text.Description).toBe(SETTINGS.prompt);
    expect(text['Creation Time']).toBe('Sun, 06 Dec 2026 12:00:00 GMT');
    expect(text['XML:com.adobe.xmp']).toContain(`DigitalSourceType="${IPTC_AI_SOURCE}"`);
    const settings = JSON.parse(text['Face0 settings']);
    expect(settings).toEqual({
      prompt: SETTINGS.prompt,
      seed: 4242,
      steps: 10,
      guidance: { w: 7.5, c: 1, a: 0 },
      face: { A: { source: 'photo', label: 'me.jpg' }, B: { source: 'random', label: 'Random face (seed 9)', random_seed: 9 }, t: 0.25, variety: 0 },
      model: 'face0-celeba64',
      bundle: 'default',
    });
    expect(text['Face0 settings']).not.toContain('embedding');
  });

  it('refuses bad keywords and sizes', async () => {
    for (const bad of ['', ' lead', 'trail ', 'two  spaces', 'x'.repeat(80), 'tab\there']) expect(() => checkKeyword(bad)).toThrow();
    expect(() => checkKeyword('Creation Time')).not.toThrow();
    await expect(encodePng({ width: 2, height: 2, rgba: new Uint8Array(15) })).rejects.toThrow(/15 RGBA bytes/);
    await expect(encodePng({ width: 0, height: 2, rgba: new Uint8Array(0) })).rejects.toThrow(/invalid PNG size/);
  });

  it('names downloads after the prompt and seed', () => {
    expect(pngFileName({ prompt: 'A photo of a smiling person!', seed: 7 })).toBe('face0-a-photo-of-a-smiling-person-seed7.png');
    expect(pngFileName({ prompt: '微笑', seed: 1 })).toBe('face0-image-seed1.png');
  });
});
