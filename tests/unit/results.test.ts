import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/bundle/manifest';
import { centredCosine, priorMean } from '../../src/results/faceSimilarity';
import { randomFaceSeed, sameSettings, settingsSummary, type ImageSettings } from '../../src/results/imageSettings';
import { base64ToEmbedding, decodeSavedFaces, embeddingToBase64, encodeSavedFaces, uniqueName } from '../../src/results/savedFaces';
import { orderByLikeness } from '../../src/ui/actions/variations';

const manifest = JSON.parse(readFileSync(new URL('../../models/default/manifest.json', import.meta.url), 'utf8')) as Manifest;
const golden = JSON.parse(readFileSync(new URL('../golden/extraction.json', import.meta.url), 'utf8')) as {
  photos: { path: string; embedding: number[] }[];
};

describe('saved faces', () => {
  it('round-trip embeddings bit for bit', () => {
    const e = Float32Array.from(golden.photos[0].embedding);
    expect(Array.from(base64ToEmbedding(embeddingToBase64(e)))).toEqual(Array.from(e));
    const faces = [{ id: 'x', name: 'Me', embedderId: manifest.face_embedder.id, embedding: e, savedAt: '2026-12-06T12:00:00.000Z' }];
    const back = decodeSavedFaces(encodeSavedFaces(faces));
    expect(back.problems).toEqual([]);
    expect(back.faces[0].name).toBe('Me');
    expect(Array.from(back.faces[0].embedding)).toEqual(Array.from(e));
  });

  it('store no photo: only the name, embedder, embedding and date', () => {
    const stored = JSON.parse(encodeSavedFaces([{ id: 'x', name: 'Me', embedderId: 'e', embedding: Float32Array.of(1), savedAt: 'd' }]));
    expect(Object.keys(stored.faces[0]).sort()).toEqual(['embedder_id', 'embedding', 'id', 'name', 'saved_at']);
  });

  it('skip unreadable entries and say why', () => {
    expect(decodeSavedFaces(null)).toEqual({ faces: [], problems: [] });
    expect(decodeSavedFaces('{oops').problems[0]).toMatch(/not JSON/);
    const mixed = JSON.stringify({
      version: 1,
      faces: [
        { id: 'a', name: 'ok', embedder_id: 'e', embedding: embeddingToBase64(Float32Array.of(1, 2)), saved_at: 'd' },
        { id: 'b', name: 'bad', embedder_id: 'e', embedding: 'AAA' },
        { id: 'c', name: 'nan', embedder_id: 'e', embedding: embeddingToBase64(Float32Array.of(NaN)) },
      ],
    });
    const r = decodeSavedFaces(mixed);
    expect(r.faces.map((f) => f.name)).toEqual(['ok']);
    expect(r.problems).toHaveLength(2);
  });

  it('make names unique', () => {
    expect(uniqueName('  Me  ', [])).toBe('Me');
    expect(uniqueName('Me', ['Me', 'Me (2)'])).toBe('Me (3)');
    expect(uniqueName('   ', [])).toBe('Face');
  });
});

describe('likeness of a generated face', () => {
  it('centres on the prior mean: the same person is closer than another (golden embeddings)', () => {
    const centre = priorMean(manifest.face_prior);
    expect(centre.length).toBe(manifest.face_embedder.embedding_width);
    const e = (path: string) => Float32Array.from(golden.photos.find((p) => p.path === path)!.embedding);
    const same = centredCosine(e('id_00209/166636.jpg'), e('id_00209/172264.jpg'), centre);
    const other = centredCosine(e('id_00209/166636.jpg'), e('id_00301/038652.jpg'), centre);
    expect(same).toBeGreaterThan(other + 0.2);
    expect(centredCosine(e('id_00209/166636.jpg'), e('id_00209/166636.jpg'), centre)).toBeCloseTo(1, 6);
  });

  it('orders variations most alike first, faceless last, ties by age', () => {
    expect(
      orderByLikeness([
        { id: 1, likeness: 0.2 },
        { id: 2, likeness: null },
        { id: 3, likeness: 0.6 },
        { id: 4, likeness: 0.2 },
      ]),
    ).toEqual([3, 1, 4, 2]);
  });
});

describe('image settings', () => {
  const base: ImageSettings = {
    prompt: 'p',
    seed: 1,
    w: 7.5,
    c: 1,
    a: 0,
    steps: 10,
    faceA: null,
    faceB: null,
    t: 0.5,
    variety: 0,
    randomFaceSeed: null,
    model: 'm',
    bundle: 'default',
  };

  it('gives every image seed its own random face seed', () => {
    expect(randomFaceSeed(0)).not.toBe(randomFaceSeed(1));
    expect(Number.isSafeInteger(randomFaceSeed(0xffffffff))).toBe(true);
  });

  it('tell the same image apart from another, embeddings included', () => {
    const face = (v: number) => ({ source: 'photo' as const, label: 'x', randomSeed: null, embedding: Float32Array.of(v), crops: [] });
    expect(sameSettings(base, { ...base })).toBe(true);
    expect(sameSettings(base, { ...base, seed: 2 })).toBe(false);
    expect(sameSettings({ ...base, faceA: face(1) }, { ...base, faceA: face(1) })).toBe(true);
    expect(sameSettings({ ...base, faceA: face(1) }, { ...base, faceA: face(2) })).toBe(false);
    expect(settingsSummary({ ...base, randomFaceSeed: 5 }).face).toEqual({ source: 'random per image', random_seed: 5 });
  });
});
