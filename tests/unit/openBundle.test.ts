/**
 * src/bundle/loadBundle.ts openBundle: files arrive one at a time in the requested order, each verified
 * (size, sha256) before anyone sees it, so sessions start while later files download; a failure
 * reaches every later file and `complete`. Served from models/default's real manifest and files
 * through a fetch whose responses the test releases one by one.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openBundle } from '../../src/bundle/loadBundle';

const DIR = new URL('../../models/default/', import.meta.url);
const URL_ = 'http://bundle.test/models/default/';
const manifestText = readFileSync(new URL('manifest.json', DIR), 'utf8');
const FILES = Object.keys(JSON.parse(manifestText).files) as string[];

/** fetch for models/default: manifest.json at once, every other file when release(name) is called. */
function gatedFetch(corrupt: string | null = null) {
  const gates = new Map<string, () => void>();
  const requested: string[] = [];
  const fetchFn = async (url: string): Promise<Response> => {
    const name = decodeURIComponent(new URL(url).pathname.split('/models/default/')[1]);
    if (name === 'manifest.json') return new Response(manifestText);
    requested.push(name);
    await new Promise<void>((resolve) => gates.set(name, resolve));
    const bytes = new Uint8Array(readFileSync(new URL(name, DIR)));
    if (name === corrupt) bytes[bytes.length >> 1] ^= 0xff;
    return new Response(bytes);
  };
  const release = async (name: string) => {
    for (let i = 0; i < 100 && !gates.has(name); i++) await new Promise((r) => setTimeout(r, 1));
    gates.get(name)!();
  };
  return { fetchFn, release, requested };
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  return done;
};

describe('openBundle', () => {
  it('gives each file, verified, as soon as it has arrived, while later ones are still pending', async () => {
    const gate = gatedFetch();
    const bundle = await openBundle(URL_, () => undefined, { fetchFn: gate.fetchFn });
    const [first, second, ...rest] = FILES;
    const last = rest[rest.length - 1];
    await gate.release(first);
    const bytes = await bundle.arrived(first);
    const expected = readFileSync(new URL(first, DIR));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
    expect(await settled(bundle.arrived(last))).toBe(false);
    expect(await settled(bundle.complete)).toBe(false);
    expect(gate.requested).toEqual([first, second]); // one download at a time
    for (const name of FILES.slice(1)) await gate.release(name);
    const whole = await bundle.complete;
    expect([...whole.files.keys()]).toEqual(FILES);
    expect(await bundle.arrived(last)).toBe(whole.files.get(last));
  });

  it('a corrupt file fails itself, every file after it and complete; the files before it stay good', async () => {
    const bad = FILES[2];
    const gate = gatedFetch(bad);
    const bundle = await openBundle(URL_, () => undefined, { fetchFn: gate.fetchFn });
    for (const name of FILES.slice(0, 3)) await gate.release(name);
    await expect(bundle.arrived(FILES[1])).resolves.toBeInstanceOf(Uint8Array);
    const mismatch = `Bundle file ${bad}: sha256 mismatch`;
    await expect(bundle.arrived(bad)).rejects.toThrow(mismatch);
    await expect(bundle.arrived(FILES[FILES.length - 1])).rejects.toThrow(mismatch);
    await expect(bundle.complete).rejects.toThrow(mismatch);
    expect(gate.requested).toEqual(FILES.slice(0, 3)); // nothing fetched after the failure
    await expect(bundle.arrived('other.onnx')).rejects.toThrow('Bundle file other.onnx: is not listed in manifest.files');
  });

  it('fetches the files named by `order` first, in that order, then the rest in manifest order', async () => {
    const gate = gatedFetch();
    const first = [FILES[4], 'not-listed.onnx', FILES[1]];
    const bundle = await openBundle(URL_, () => undefined, { fetchFn: gate.fetchFn, order: () => first });
    const expected = [FILES[4], FILES[1], ...FILES.filter((f) => f !== FILES[4] && f !== FILES[1])];
    for (const name of expected) await gate.release(name);
    await bundle.complete;
    expect(gate.requested).toEqual(expected);
  });
});
