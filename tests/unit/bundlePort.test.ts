/**
 * src/bundle/bundlePort.ts: a bundle downloaded by serveBundle on one end of a real MessageChannel
 * (structured clone, transferred buffers) and used through receiveBundle on the other, as the
 * download worker and the engine worker do. Served from models/default's real files.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveBundle, serveBundle, type PortLike } from '../../src/bundle/bundlePort';
import { orderOfNeed } from '../../src/bundle/fetchOrder';
import type { Manifest } from '../../src/bundle/manifest';
import { EngineError } from '../../src/shared/engineError';

const DIR = new URL('../../models/default/', import.meta.url);
const URL_ = 'http://bundle.test/models/default/';
const manifest = JSON.parse(readFileSync(new URL('manifest.json', DIR), 'utf8')) as Manifest;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** fetch for models/default; `corrupt` gets one byte flipped, `missing` answers 404. */
function diskFetch({ corrupt = '', missing = '' } = {}) {
  const requested: string[] = [];
  const fetchFn = async (url: string): Promise<Response> => {
    const name = decodeURIComponent(new URL(url).pathname.split('/models/default/')[1]);
    requested.push(name);
    if (name === missing) return new Response('not here', { status: 404, statusText: 'Not Found' });
    const bytes = new Uint8Array(readFileSync(new URL(name, DIR)));
    if (name === corrupt) bytes[bytes.length >> 1] ^= 0xff;
    return new Response(bytes);
  };
  return { fetchFn, requested };
}

const channels: MessageChannel[] = [];
/** Two ends of a real channel; Node's MessagePort is an EventTarget like a worker. */
function ports(): [PortLike, PortLike] {
  const channel = new MessageChannel();
  channels.push(channel);
  return [channel.port1 as unknown as PortLike, channel.port2 as unknown as PortLike];
}
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

describe('serveBundle / receiveBundle', () => {
  it('delivers every file, verified, in the order init needs them, with progress and phase timings', async () => {
    const [download, engine] = ports();
    const disk = diskFetch();
    serveBundle(download, disk.fetchFn);
    const progress: string[] = [];
    const phases: string[] = [];
    const arrivedOrder: string[] = [];
    const bundle = await receiveBundle(engine, URL_, (file, loaded, total) => loaded === total && progress.push(file), (p) => phases.push(p));
    expect(bundle.manifest).toEqual(manifest);
    const need = orderOfNeed(manifest);
    expect(need.slice(0, 2)).toEqual([manifest.tokenizer.vocab_file, manifest.face_detector.file]);
    for (const path of Object.keys(manifest.files)) void bundle.arrived(path).then(() => arrivedOrder.push(path));
    const whole = await bundle.complete;
    expect(disk.requested).toEqual(['manifest.json', ...need]);
    expect(arrivedOrder).toEqual(need);
    expect([...new Set(progress)]).toEqual(need); // a file may report its last byte twice (last chunk, then end)
    for (const path of need) {
      const bytes = await bundle.arrived(path);
      expect(bytes).toBe(whole.files.get(path));
      expect(sha256(bytes)).toBe(manifest.files[path].sha256);
    }
    expect(phases).toEqual(['manifest', ...need.flatMap((p) => [`fetch ${p}`, `sha256 ${p}`])]);
  });

  it('a corrupt file reaches the engine as that bundle error: earlier files stay good, it and later ones fail', async () => {
    const [download, engine] = ports();
    const need = orderOfNeed(manifest);
    const bad = need[3];
    serveBundle(download, diskFetch({ corrupt: bad }).fetchFn);
    const bundle = await receiveBundle(engine, URL_, () => undefined);
    const mismatch = `Bundle file ${bad}: sha256 mismatch`;
    await expect(bundle.complete).rejects.toThrow(mismatch);
    const err = await bundle.arrived(need[need.length - 1]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('bad_bundle');
    await expect(bundle.arrived(bad)).rejects.toThrow(mismatch);
    expect(sha256(await bundle.arrived(need[2]))).toBe(manifest.files[need[2]].sha256);
  });

  it('a missing manifest rejects the open itself', async () => {
    const [download, engine] = ports();
    serveBundle(download, diskFetch({ missing: 'manifest.json' }).fetchFn);
    await expect(receiveBundle(engine, URL_, () => undefined)).rejects.toThrow(
      `Bundle file manifest.json: HTTP 404 Not Found at ${URL_}manifest.json`,
    );
  });

  it('a download side that dies (a worker whose script failed) fails the bundle instead of leaving init waiting', async () => {
    const [, engine] = ports(); // nobody serves this end
    const opening = receiveBundle(engine, URL_, () => undefined);
    (engine as unknown as EventTarget).dispatchEvent(Object.assign(new Event('error'), { message: 'SyntaxError in downloadWorker' }));
    await expect(opening).rejects.toThrow('The bundle download worker stopped: SyntaxError in downloadWorker');
  });
});
