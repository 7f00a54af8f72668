/**
 * Photo bytes -> pixels in the worker: format sniffing and truncation checks (pure), decoding with
 * EXIF orientation applied, a downscaled copy for detection, and full-resolution reads of a region.
 */
import { EngineError } from '../shared/engineError';
import type { Box } from './faceCrop';
import { rgbaToRgb, type RgbImage } from '../shared/pixels';

export type ImageKind = 'jpeg' | 'png' | 'webp' | 'gif' | 'bmp';

function startsWith(bytes: Uint8Array, sig: readonly number[], at = 0): boolean {
  return bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
}

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** The image format from its magic bytes, or null when it is none of the supported ones. */
export function sniffImageKind(bytes: Uint8Array): ImageKind | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'gif';
  if (startsWith(bytes, ascii('BM')) && bytes.length >= 14) return 'bmp';
  return null;
}

/** JPEG: walk the marker segments up to the first scan, then an end-of-image marker must follow. */
function jpegProblem(b: Uint8Array): string | null {
  let i = 2;
  for (;;) {
    if (i + 4 > b.length) return 'it ends inside its header';
    if (b[i] !== 0xff) return 'its header is damaged';
    const marker = b[i + 1];
    // Fill bytes (0xFF 0xFF) may pad between segments.
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    const length = (b[i + 2] << 8) | b[i + 3];
    if (length < 2 || i + 2 + length > b.length) return 'it ends inside its header';
    i += 2 + length;
    if (marker === 0xda) break;
  }
  // In entropy-coded data a literal 0xFF is followed by 0x00 or a restart marker, so FF D9 is the end.
  for (let k = i; k + 1 < b.length; k++) if (b[k] === 0xff && b[k + 1] === 0xd9) return null;
  return 'the end-of-image marker is missing (the file is cut short)';
}

/** PNG: walk the chunks; the file must reach IEND. */
function pngProblem(b: Uint8Array): string | null {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 8;
  while (i + 12 <= b.length) {
    const length = view.getUint32(i);
    const type = String.fromCharCode(b[i + 4], b[i + 5], b[i + 6], b[i + 7]);
    if (i + 12 + length > b.length) break;
    if (type === 'IEND') return null;
    i += 12 + length;
  }
  return 'the IEND chunk is missing (the file is cut short)';
}

/**
 * Why the file is incomplete, or null. Decoders in browsers render what they have of a cut-short
 * JPEG or PNG without an error, so the container's own end markers are checked.
 */
export function truncationProblem(kind: ImageKind, b: Uint8Array): string | null {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (kind) {
    case 'jpeg':
      return jpegProblem(b);
    case 'png':
      return pngProblem(b);
    case 'webp':
      return b.length >= 12 && view.getUint32(4, true) + 8 <= b.length ? null : 'it is shorter than its RIFF header says';
    case 'gif':
      // The trailer byte 0x3B ends every complete GIF.
      return b[b.length - 1] === 0x3b ? null : 'the GIF trailer is missing (the file is cut short)';
    case 'bmp': {
      // Some writers leave the size field 0; then only the pixel data offset can be checked.
      const size = view.getUint32(2, true);
      const dataOffset = b.length >= 14 ? view.getUint32(10, true) : Infinity;
      return (size === 0 || size <= b.length) && dataOffset < b.length ? null : 'it is shorter than its header says';
    }
  }
}

function describeContent(bytes: Uint8Array, mimeType: string): string {
  if (bytes.length === 0) return 'the file is empty';
  if (mimeType) return `read as ${mimeType}`;
  const head = bytes.subarray(0, 512);
  const printable = head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 0x80);
  return printable ? 'it looks like text' : 'unknown binary format';
}

/** Throws 'not_an_image' / 'corrupt_image' unless the bytes are a complete image of a supported format. */
export function checkImageBytes(bytes: Uint8Array, mimeType: string): ImageKind {
  const kind = sniffImageKind(bytes);
  if (kind === null) {
    throw new EngineError(
      'not_an_image',
      `This file is not an image (${describeContent(bytes, mimeType)}); use a JPEG, PNG, WebP, GIF or BMP photo`,
    );
  }
  const problem = truncationProblem(kind, bytes);
  if (problem !== null) throw new EngineError('corrupt_image', `The image is truncated or corrupt: ${problem}`);
  return kind;
}

export interface DecodedImage {
  bitmap: ImageBitmap;
  width: number;
  height: number;
}

/** Decodes with EXIF orientation applied, so every coordinate is in the upright image. */
export async function decodeImage(blob: Blob): Promise<DecodedImage> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const kind = checkImageBytes(bytes, blob.type);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new EngineError('corrupt_image', `The image is truncated or corrupt: the ${kind.toUpperCase()} decoder failed (${why})`);
  }
  if (bitmap.width === 0 || bitmap.height === 0) {
    bitmap.close();
    throw new EngineError('corrupt_image', 'The image is truncated or corrupt: it has no pixels');
  }
  return { bitmap, width: bitmap.width, height: bitmap.height };
}

/** Size of the copy the detector sees: longer side at most maxSide, aspect kept (as face0.extraction.detection_size). */
export function detectionSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longer = Math.max(width, height);
  if (longer <= maxSide) return { width, height };
  return {
    width: Math.max(1, Math.round((width * maxSide) / longer)),
    height: Math.max(1, Math.round((height * maxSide) / longer)),
  };
}

/** The detector's copy of the image and the per-axis factors from its pixels back to the original's. */
export async function downscaleForDetection(
  img: DecodedImage,
  maxSide: number,
): Promise<{ image: ImageBitmap; scale: { x: number; y: number } }> {
  const size = detectionSize(img.width, img.height, maxSide);
  const image = await createImageBitmap(img.bitmap, { resizeWidth: size.width, resizeHeight: size.height, resizeQuality: 'high' });
  return { image, scale: { x: img.width / size.width, y: img.height / size.height } };
}

/**
 * Integer rectangle of the image that cropAndResize(image, box, size) reads: the box widened by its
 * filter's reach (max(box side / size, 1) px) plus a pixel, clipped to the image. Reading only this
 * keeps a large photo's full-resolution float copy out of memory.
 */
export function cropSourceRect(box: Box, size: number, width: number, height: number): Box {
  const reachX = Math.max(box.width / size, 1) + 1;
  const reachY = Math.max(box.height / size, 1) + 1;
  const x0 = Math.max(0, Math.floor(box.x - reachX));
  const y0 = Math.max(0, Math.floor(box.y - reachY));
  const x1 = Math.min(width, Math.ceil(box.x + box.width + reachX));
  const y1 = Math.min(height, Math.ceil(box.y + box.height + reachY));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** Full-resolution RGB of an integer rectangle of the image. */
export function readRegion(img: DecodedImage, rect: Box): RgbImage {
  const canvas = new OffscreenCanvas(rect.width, rect.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new EngineError('internal', 'OffscreenCanvas 2d context is unavailable');
  ctx.drawImage(img.bitmap, rect.x, rect.y, rect.width, rect.height, 0, 0, rect.width, rect.height);
  const { data } = ctx.getImageData(0, 0, rect.width, rect.height, { colorSpace: 'srgb' });
  return rgbaToRgb(data, rect.width, rect.height);
}
