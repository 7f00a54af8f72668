// Golden ids: ../shared/data/clip/golden_token_ids.json, produced with transformers 5.24
// CLIPTokenizer (see that folder's README.md). Ids are integers: every comparison is exact.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIP_NUM_MERGES, ClipTokenizer, encodePrompt } from '../../src/text/tokenizer';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const clipDir = path.resolve(repoRoot, '../shared/data/clip');

interface GoldenCase {
  text: string;
  input_ids: number[];
  untruncated_ids: number[];
  n_tokens_untruncated: number;
  truncated: boolean;
}
interface Golden {
  bos_id: number;
  eos_id: number;
  pad_id: number;
  max_length: number;
  vocab_size: number;
  cases: GoldenCase[];
}

const golden: Golden = JSON.parse(readFileSync(path.join(clipDir, 'golden_token_ids.json'), 'utf8'));
const spec = { bos_id: golden.bos_id, eos_id: golden.eos_id, pad_id: golden.pad_id, max_length: golden.max_length };
const FACE_POSITIONS = [74, 75, 76];

let tok: ClipTokenizer;

beforeAll(async () => {
  const gz = new Uint8Array(readFileSync(path.join(clipDir, 'bpe_simple_vocab_16e6.txt.gz')));
  const t0 = performance.now();
  tok = await ClipTokenizer.fromGzipBytes(gz);
  console.log(`ClipTokenizer.fromGzipBytes: ${(performance.now() - t0).toFixed(0)} ms`);
});

describe('ClipTokenizer vocabulary', () => {
  it('equals vocab.json (the standard CLIP recipe)', () => {
    const vocabJson: Record<string, number> = JSON.parse(readFileSync(path.join(clipDir, 'vocab.json'), 'utf8'));
    expect(tok.vocab.size).toBe(golden.vocab_size);
    const mismatched = Object.entries(vocabJson).filter(([token, id]) => tok.vocab.get(token) !== id);
    expect(mismatched).toEqual([]);
    expect(tok.bosId).toBe(golden.bos_id);
    expect(tok.eosId).toBe(golden.eos_id);
  });

  it('rejects a file that is not the CLIP merges file', () => {
    expect(() => ClipTokenizer.fromMergesText('hello\nworld')).toThrow(/#version/);
    const broken = ['#version: 0.2', ...new Array(CLIP_NUM_MERGES).fill('a b c')].join('\n');
    expect(() => ClipTokenizer.fromMergesText(broken)).toThrow(/line 1 is not a pair/);
  });
});

describe('ClipTokenizer matches transformers CLIPTokenizer on every golden case', () => {
  it.each(golden.cases.map((c) => [JSON.stringify(c.text).slice(0, 60), c] as const))('%s', (_label, c) => {
    expect(tok.encode(c.text)).toEqual(c.untruncated_ids.slice(1, -1));
    // Without face positions the limit is 75 tokens: the usual SD 1.x 77-id truncation of the golden.
    const sd = encodePrompt(tok, c.text, spec, []);
    expect(Array.from(sd.inputIds)).toEqual(c.input_ids);
    expect(sd.truncated).toBe(c.truncated);
  });
});

describe('encodePrompt with the Face0 face positions 74..76', () => {
  it.each(golden.cases.map((c) => [JSON.stringify(c.text).slice(0, 60), c] as const))('%s', (_label, c) => {
    const enc = encodePrompt(tok, c.text, spec, FACE_POSITIONS);
    const bpe = c.untruncated_ids.slice(1, -1);
    const kept = bpe.slice(0, 72);
    const expected = [spec.bos_id, ...kept, spec.eos_id];
    while (expected.length < 77) expected.push(spec.pad_id);
    expect(Array.from(enc.inputIds)).toEqual(expected);
    if (bpe.length <= 72) expect(Array.from(enc.inputIds)).toEqual(c.input_ids);
    expect(enc).toMatchObject({
      tokenCount: kept.length,
      maxTokens: 72,
      remaining: Math.max(0, 72 - bpe.length),
      truncated: bpe.length > 72,
    });
  });

  it('counts the tokens left and truncates at exactly 72', () => {
    const empty = encodePrompt(tok, '', spec, FACE_POSITIONS);
    expect(Array.from(empty.inputIds.slice(0, 3))).toEqual([49406, 49407, 49407]);
    expect(empty).toMatchObject({ tokenCount: 0, remaining: 72, truncated: false });

    // "a photo of a cat" is five tokens (README sanity check).
    expect(encodePrompt(tok, 'a photo of a cat', spec, FACE_POSITIONS)).toMatchObject({ tokenCount: 5, remaining: 67 });

    const cat = tok.encode('cat');
    expect(cat).toHaveLength(1);
    const exactly72 = encodePrompt(tok, 'cat '.repeat(72), spec, FACE_POSITIONS);
    expect(exactly72).toMatchObject({ tokenCount: 72, remaining: 0, truncated: false });
    expect(exactly72.inputIds[72]).toBe(cat[0]);
    expect(Array.from(exactly72.inputIds.slice(73))).toEqual([49407, 49407, 49407, 49407]);

    const over = encodePrompt(tok, 'cat '.repeat(73), spec, FACE_POSITIONS);
    expect(over).toMatchObject({ tokenCount: 72, remaining: 0, truncated: true });
    expect(Array.from(over.inputIds)).toEqual(Array.from(exactly72.inputIds));
  });
});
