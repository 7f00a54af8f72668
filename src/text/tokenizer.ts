/**
 * CLIP byte-level BPE tokenizer built from OpenAI's bpe_simple_vocab_16e6.txt(.gz), behaving like
 * transformers 5.x CLIPTokenizer (tokenizers backend): literal special tokens are split off the raw
 * text, then NFC, whitespace runs -> " ", per-character lower-casing, the CLIP split regex, the
 * byte-level pre-tokenizer, BPE with "</w>" on each word's last symbol.
 * Python counterpart for training: training/face0/tokenize.py (Face0Tokenizer).
 */

/** Lines 1..48894 of the merges file (after its version header) are the merges CLIP uses. */
export const CLIP_NUM_MERGES = 48894;
const START_OF_TEXT = '<|startoftext|>';
const END_OF_TEXT = '<|endoftext|>';

/** GPT-2's reversible byte -> printable character table (byte-level BPE alphabet), indexed by byte. */
function bytesToUnicode(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  }
  return table;
}

/** The vocabulary order: printable bytes first, then the rest, as in CLIP's bytes_to_unicode().values(). */
function byteSymbolsInVocabOrder(table: string[]): string[] {
  const printableFirst = table.filter((s) => s.codePointAt(0)! < 256);
  const rest = table.filter((s) => s.codePointAt(0)! >= 256);
  return [...printableFirst, ...rest];
}

// \p{White_Space} rather than \s: the tokenizers library's (Oniguruma) \s is Unicode White_Space,
// which includes U+0085 and excludes U+FEFF, unlike JavaScript's \s.
const WHITESPACE_RUN = /\p{White_Space}+/gu;
const SPECIAL_LITERALS = /(<\|startoftext\|>|<\|endoftext\|>)/;
const CLIP_SPLIT =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/gu;
// The ByteLevel pre-tokenizer runs GPT-2's split on every CLIP piece; it only changes pieces like
// "<|startoftext|>" that come from non-literal text (e.g. upper-case "<|STARTOFTEXT|>").
const GPT2_SPLIT =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\S)|\p{White_Space}+/gu;

function normalize(text: string): string {
  // The tokenizers Lowercase normalizer maps each character on its own; JavaScript's toLowerCase
  // would turn a word-final capital sigma into "ς" (its only context-dependent mapping).
  return text.normalize('NFC').replace(WHITESPACE_RUN, ' ').replace(/Σ/g, 'σ').toLowerCase();
}

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  private readonly byteTable = bytesToUnicode();
  private readonly utf8 = new TextEncoder();
  private readonly cache = new Map<string, number[]>();

  private constructor(
    /** Token -> id, 49,408 entries: byte symbols, the same with "</w>", one per merge, then bos and eos. */
    readonly vocab: ReadonlyMap<string, number>,
    private readonly ranks: ReadonlyMap<string, number>,
  ) {
    this.bosId = vocab.get(START_OF_TEXT)!;
    this.eosId = vocab.get(END_OF_TEXT)!;
  }

  /** `gz`: bpe_simple_vocab_16e6.txt.gz, as shipped in a bundle (tokenizer.vocab_file). */
  static async fromGzipBytes(gz: Uint8Array): Promise<ClipTokenizer> {
    const stream = new Blob([gz as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return ClipTokenizer.fromMergesText(await new Response(stream).text());
  }

  static fromMergesText(text: string): ClipTokenizer {
    // The file goes on past the merges CLIP uses; the limit keeps the rest unsplit.
    const lines = text.split('\n', CLIP_NUM_MERGES + 2);
    if (!lines[0].includes('#version') || lines.length <= CLIP_NUM_MERGES) {
      throw new Error(`CLIP merges file: expected a "#version" header and ${CLIP_NUM_MERGES} merges`);
    }
    const merges = lines.slice(1, CLIP_NUM_MERGES + 1).map((line, i) => {
      const pair = line.split(' ');
      if (pair.length !== 2) throw new Error(`CLIP merges file: line ${i + 1} is not a pair: ${JSON.stringify(line)}`);
      return pair as [string, string];
    });
    const symbols = byteSymbolsInVocabOrder(bytesToUnicode());
    const tokens = [
      ...symbols,
      ...symbols.map((s) => `${s}</w>`),
      ...merges.map(([a, b]) => a + b),
      START_OF_TEXT,
      END_OF_TEXT,
    ];
    const vocab = new Map(tokens.map((token, id) => [token, id]));
    const ranks = new Map(merges.map(([a, b], rank) => [`${a} ${b}`, rank]));
    return new ClipTokenizer(vocab, ranks);
  }

  /** BPE ids of `text`, without start/end-of-text (literal special-token text does give their ids). */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const segment of text.split(SPECIAL_LITERALS)) {
      if (segment === START_OF_TEXT) ids.push(this.bosId);
      else if (segment === END_OF_TEXT) ids.push(this.eosId);
      else {
        for (const piece of normalize(segment).match(CLIP_SPLIT) ?? []) {
          for (const word of piece.match(GPT2_SPLIT) ?? []) ids.push(...this.bpe(this.toByteSymbols(word)));
        }
      }
    }
    return ids;
  }

  private toByteSymbols(word: string): string {
    let s = '';
    for (const b of this.utf8.encode(word)) s += this.byteTable[b];
    return s;
  }

  /** Repeatedly merge the adjacent pair with the lowest rank (all its occurrences, left to right). */
  private bpe(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let parts = Array.from(word);
    parts[parts.length - 1] += '</w>';
    while (parts.length > 1) {
      let best = Infinity;
      for (let i = 0; i < parts.length - 1; i++) {
        const rank = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (rank !== undefined && rank < best) best = rank;
      }
      if (best === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1 && this.ranks.get(`${parts[i]} ${parts[i + 1]}`) === best) {
          next.push(parts[i] + parts[i + 1]);
          i++;
        } else {
          next.push(parts[i]);
        }
      }
      parts = next;
    }
    const ids = parts.map((p) => {
      const id = this.vocab.get(p);
      if (id === undefined) throw new Error(`CLIP BPE: symbol ${JSON.stringify(p)} missing from the vocabulary`);
      return id;
    });
    this.cache.set(word, ids);
    return ids;
  }
}

export interface PromptEncoding {
  /** max_length ids: bos + kept tokens + eos, padded with pad_id. */
  inputIds: Int32Array;
  /** BPE tokens kept. */
  tokenCount: number;
  maxTokens: number;
  remaining: number;
  truncated: boolean;
}

/**
 * Face0 prompt ids: the face tokens overwrite `facePositions` of the context, so bos + tokens + eos
 * must end before the first of them (72 BPE tokens for positions 74..76 of 77).
 */
export function encodePrompt(
  tok: ClipTokenizer,
  text: string,
  spec: { bos_id: number; eos_id: number; pad_id: number; max_length: number },
  facePositions: number[],
): PromptEncoding {
  const maxTokens = Math.min(spec.max_length, ...facePositions) - 2;
  if (maxTokens < 0) throw new Error(`encodePrompt: no room for start/end-of-text before position ${maxTokens + 2}`);
  const tokens = tok.encode(text);
  const kept = tokens.slice(0, maxTokens);
  const inputIds = new Int32Array(spec.max_length).fill(spec.pad_id);
  inputIds[0] = spec.bos_id;
  inputIds.set(kept, 1);
  inputIds[kept.length + 1] = spec.eos_id;
  return {
    inputIds,
    tokenCount: kept.length,
    maxTokens,
    remaining: Math.max(0, maxTokens - tokens.length),
    truncated: tokens.length > maxTokens,
  };
}
