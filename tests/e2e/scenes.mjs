// Builds the synthetic scenes of tests/golden/extraction.json in the page, pixel for pixel as
// training/face0/synthetic_scenes.py does (integer box-filter shrink, pixel-repeat grow, integer
// background pattern), and returns them as PNG bytes.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from './harness.mjs';

export const IDENTITIES = `${resolve(ROOT, '../shared/data/celeba-identities')}/`;

/** PNG bytes (Buffer) of a scene recipe ({ width, height, pastes: [{ path, x, y, shrink, grow }] }). */
export async function scenePng(page, scene) {
  const photos = scene.pastes.map((p) => ({ ...p, b64: readFileSync(`${IDENTITIES}${p.path}`).toString('base64') }));
  const b64 = await page.evaluate(
    async ({ width, height, photos }) => {
      const canvas = new OffscreenCanvas(width, height);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      const out = ctx.createImageData(width, height);
      const d = out.data;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = 4 * (y * width + x);
          d[i] = 96 + ((x * 7 + y * 3) % 48);
          d[i + 1] = 112 + ((x * 5 + y * 11) % 40);
          d[i + 2] = 128 + ((x * 3 + y * 7) % 56);
          d[i + 3] = 255;
        }
      }
      for (const p of photos) {
        const bytes = Uint8Array.from(atob(p.b64), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
        const src = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d', { willReadFrequently: true });
        src.drawImage(bitmap, 0, 0);
        const s = src.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: 'srgb' }).data;
        const k = p.shrink;
        const n = k * k;
        const w = Math.floor(bitmap.width / k);
        const h = Math.floor(bitmap.height / k);
        for (let y = 0; y < h * p.grow; y++) {
          for (let x = 0; x < w * p.grow; x++) {
            const cx = p.x + x;
            const cy = p.y + y;
            if (cx >= width || cy >= height) continue;
            const bx = Math.floor(x / p.grow);
            const by = Math.floor(y / p.grow);
            for (let ch = 0; ch < 3; ch++) {
              let sum = 0;
              for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) sum += s[4 * ((by * k + dy) * bitmap.width + bx * k + dx) + ch];
              d[4 * (cy * width + cx) + ch] = Math.floor((sum + Math.floor(n / 2)) / n);
            }
          }
        }
      }
      ctx.putImageData(out, 0, 0);
      const png = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
      let str = '';
      for (let i = 0; i < png.length; i += 0x8000) str += String.fromCharCode(...png.subarray(i, i + 0x8000));
      return btoa(str);
    },
    { width: scene.width, height: scene.height, photos },
  );
  return Buffer.from(b64, 'base64');
}

export function goldenScenes() {
  return JSON.parse(readFileSync(`${ROOT}tests/golden/extraction.json`, 'utf8')).scenes;
}
