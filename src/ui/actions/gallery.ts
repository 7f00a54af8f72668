/** The gallery's actions: keep finished images, restore their settings, download them as PNG. */
import { pngFileName, pngTexts, sameSettings } from '../../results/imageSettings';
import { encodePng } from '../../results/png';
import { GALLERY_LIMIT, useStore, type GalleryItem, type ShownResult } from '../../store';
import { placeFace } from './faceActions';

let nextId = 1;

/** Adds a finished full image, never a draft (an image with the same settings already there moves to the front instead). */
export function addToGallery(result: Omit<ShownResult, 'draft'>, extra: Partial<GalleryItem> = {}): GalleryItem {
  const item: GalleryItem = { ...result, draft: false, id: nextId++, createdAt: new Date(), ...extra };
  useStore.setState((s) => ({
    gallery: [item, ...s.gallery.filter((g) => !sameSettings(g.settings, item.settings))].slice(0, GALLERY_LIMIT),
  }));
  return item;
}

/** The gallery's number for an item (1 = the first image of this page). */
export function itemLabel(item: GalleryItem): string {
  return `image ${item.id}`;
}

/** Sets every control (and the faces) to the item's, and shows its image. */
export function restoreSettings(item: GalleryItem): void {
  const st = item.settings;
  useStore.setState((s) => ({
    prompt: st.prompt,
    seed: st.seed,
    w: st.w,
    c: st.c,
    a: st.a,
    steps: st.steps,
    t: st.t,
    variety: st.variety,
    randomFacePerImage: st.randomFaceSeed !== null,
    // The image is what these controls make: shown as current, not as outdated.
    result: { ...item, requestId: s.generation.requestId },
  }));
  if (st.randomFaceSeed === null) {
    placeFace('A', st.faceA);
    placeFace('B', st.faceB);
  }
}

export async function pngBlob(item: GalleryItem): Promise<Blob> {
  const bytes = await encodePng(item, pngTexts(item.settings, item.createdAt));
  return new Blob([bytes as BlobPart], { type: 'image/png' });
}

export async function downloadPng(item: GalleryItem): Promise<void> {
  const url = URL.createObjectURL(await pngBlob(item));
  const a = document.createElement('a');
  a.href = url;
  a.download = pngFileName(item.settings);
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started from the click; a later revoke keeps slow browsers safe.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
