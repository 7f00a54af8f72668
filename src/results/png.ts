/**
 * PNG writer for generated images: 8-bit RGBA, text chunks (tEXt when the text is printable ASCII,
 * iTXt in UTF-8 otherwise) placed before the pixels so readers that stop early still see them.
 * Pixels are zlib-compressed with the platform's CompressionStream ('deflate' is the zlib format PNG
 * uses, RFC 1950).
 */

export interface PngImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, row-major RGBA. */
  rgba: Uint8ClampedArray | Uint8Array;
}

export interface PngText {
  /** 1-79 printable Latin-1 characters, no leading, trailing or double spaces (PNG spec 11.3.4.2). */
  keyword: string;
  text: string;
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as PNG uses) of the bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const latin1 = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** length, type, data, CRC of type + data. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(latin1(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function checkKeyword(keyword: string): void {
  const ok =
    keyword.length >= 1 &&
    keyword.length <= 79 &&
    [...keyword].every((ch) => (ch >= ' ' && ch <= '~') || (ch >= '\u00a1' && ch <= '\u00ff')) &&
    keyword.trim() === keyword &&
    !keyword.includes('  ');
  if (!ok) throw new Error(`invalid PNG text keyword "${keyword}"`);
}

const PRINTABLE_ASCII = /^[\n\x20-\x7e]*$/;

/** tEXt for printable ASCII (with newlines), else iTXt (uncompressed UTF-8, no language tag). */
export function textChunk({ keyword, text }: PngText): Uint8Array {
  checkKeyword(keyword);
  if (PRINTABLE_ASCII.test(text)) return chunk('tEXt', concat([latin1(keyword), Uint8Array.of(0), latin1(text)]));
  // keyword \0, compression flag 0, method 0, language tag "" \0, translated keyword "" \0, text.
  return chunk('iTXt', concat([latin1(keyword), Uint8Array.of(0, 0, 0, 0, 0), new TextEncoder().encode(text)]));
}

async function zlibDeflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Scanlines with filter type 0 (None) each. */
function scanlines(image: PngImage): Uint8Array {
  const stride = image.width * 4;
  const raw = new Uint8Array((stride + 1) * image.height);
  for (let y = 0; y < image.height; y++) raw.set(image.rgba.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return raw;
}

export async function encodePng(image: PngImage, texts: PngText[] = []): Promise<Uint8Array> {
  const { width, height } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`invalid PNG size ${width}x${height}`);
  }
  if (image.rgba.length !== width * height * 4) {
    throw new Error(`${image.rgba.length} RGBA bytes for ${width}x${height} (expected ${width * height * 4})`);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, adaptive filtering, no interlace
  return concat([
    PNG_SIGNATURE,
    chunk('IHDR', header),
    ...texts.map(textChunk),
    chunk('IDAT', await zlibDeflate(scanlines(image))),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
