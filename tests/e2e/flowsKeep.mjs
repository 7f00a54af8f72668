// Flows for results a user keeps (issue 17, part 2) and for the faces the detector used to miss (part 3).
import { readFileSync } from 'node:fs';
import { alertText, openApp, resultId, sameImage, waitForImage } from './app.mjs';
import { assert } from './harness.mjs';
import { pngTextChunks } from './png.mjs';
import { goldenScenes, IDENTITIES, scenePng } from './scenes.mjs';

const photo = (rel) => `${IDENTITIES}${rel}`;

async function change(page, action) {
  const before = await resultId(page);
  await action();
  return waitForImage(page, before);
}

const galleryCount = (page) => page.getByRole('region', { name: 'Variations and gallery' }).getByRole('button', { name: /^Gallery image/ }).count();

/** Decodes PNG bytes with the browser's own decoder: RGBA as base64 (an independent check of our encoder). */
async function browserDecode(page, png) {
  return page.evaluate(async (b64) => {
    const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }), {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
    });
    const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const d = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    let s = '';
    for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode(...d.subarray(i, i + 0x8000));
    return { width: bitmap.width, height: bitmap.height, b64: btoa(s) };
  }, png.toString('base64'));
}

/**
 * Gallery, PNG download (settings and AI statement in text chunks, pixels decoded by the browser),
 * restoring settings, saved faces across a reload, variations by likeness, keep this character, a
 * random face per image and pinning it.
 */
async function keepResults({ page, base, backend, manifest }) {
  const notes = [];
  const first = await waitForImage(page, 0);
  assert((await galleryCount(page)) === 1, 'the first image is not in the gallery');

  // Download: what the browser decodes from the file is the image on screen; the text chunks carry the rest.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download PNG' }).first().click()]);
  const png = readFileSync(await download.path());
  const decoded = await browserDecode(page, png);
  assert(decoded.width === first.width && decoded.height === first.height, `PNG is ${decoded.width}x${decoded.height}`);
  assert(Buffer.from(decoded.b64, 'base64').equals(first.pixels), 'downloaded PNG pixels differ from the image on screen');
  const texts = pngTextChunks(png);
  const settings = JSON.parse(texts['Face0 settings']);
  const state = await page.evaluate(() => {
    const s = window.__face0.state();
    return { seed: s.seed, prompt: s.prompt, w: s.w, steps: s.steps };
  });
  assert(/AI-generated/.test(texts.Disclaimer) && texts.Disclaimer.includes(manifest.name), `Disclaimer chunk: ${texts.Disclaimer}`);
  assert(texts['XML:com.adobe.xmp']?.includes('trainedAlgorithmicMedia'), 'no IPTC digital source type in the XMP chunk');
  assert(settings.seed === state.seed && settings.prompt === state.prompt && settings.guidance.w === state.w && settings.steps === state.steps, `settings chunk ${texts['Face0 settings']} vs ${JSON.stringify(state)}`);
  assert(download.suggestedFilename().endsWith(`seed${state.seed}.png`), `file name ${download.suggestedFilename()}`);
  notes.push(`PNG ${png.length} B, ${Object.keys(texts).length} text chunks, pixels equal`);

  // A second image, then the first restored from the gallery: same controls, same pixels.
  await change(page, () => page.getByLabel('Seed', { exact: true }).fill(String(state.seed + 1)));
  assert((await galleryCount(page)) === 2, 'the second image is not in the gallery');
  await page.getByRole('button', { name: 'Gallery image 1' }).click();
  // The seed changes back, so a new image is made from the restored controls.
  const restored = await change(page, () => page.getByTestId('gallery-selected').getByRole('button', { name: 'Restore settings' }).click());
  assert((await page.evaluate(() => window.__face0.state().seed)) === state.seed, 'Restore settings did not restore the seed');
  assert(sameImage(restored, first), 'the restored settings do not make the same image');

  // Saved face: the photo's embedding only; it survives a reload and makes the same image as the photo.
  const withPhoto = await change(page, () => page.getByLabel('Photo for face A').setInputFiles(photo('id_00209/166636.jpg')));
  await page.getByRole('region', { name: 'Face A' }).getByRole('button', { name: 'Save face…' }).click();
  await page.getByLabel('Name for saved face A').fill('Person one');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const stored = await page.evaluate(() => localStorage.getItem('face0:saved-faces'));
  assert(stored && !/jpe?g|data:image/.test(stored) && JSON.parse(stored).faces.length === 1, `stored: ${stored?.slice(0, 200)}`);
  const seedNow = await page.evaluate(() => window.__face0.state().seed);
  const reloaded = await openApp(page.context(), base, { backend, steps: await page.evaluate(() => window.__face0.state().steps) });
  await page.close();
  const p2 = reloaded;
  await waitForImage(p2, 0);
  await p2.getByLabel('Seed', { exact: true }).fill(String(seedNow));
  const saved = p2.getByTestId('saved-face');
  assert((await saved.count()) === 1 && (await saved.innerText()).includes('Person one'), 'saved face not listed after the reload');
  const fromSaved = await change(p2, () => saved.getByRole('button', { name: 'Use as A' }).click());
  assert((await p2.getByTestId('face-A-label').innerText()) === 'Person one', 'saved face not used as face A');
  assert(sameImage(fromSaved, withPhoto), 'the saved face does not make the same image as its photo');
  notes.push('saved face survives a reload, same image as the photo');

  // Variations ordered by likeness to face A.
  await p2.getByLabel('Number of variations').selectOption('4');
  await p2.getByRole('button', { name: 'Make variations' }).click();
  await p2.getByTestId('variations-status').filter({ hasText: /^4 variations/ }).waitFor({ timeout: 600_000 });
  const likeness = await p2
    .getByRole('region', { name: 'Variations and gallery' })
    .locator('[aria-label="Variations"] canvas')
    .evaluateAll((cs) => cs.map((c) => c.getAttribute('aria-label')));
  const values = likeness.map((l) => (/likeness (-?[\d.]+)/.exec(l) ? Number(/likeness (-?[\d.]+)/.exec(l)[1]) : -Infinity));
  assert(values.length === 4 && values.every((v, i) => i === 0 || v <= values[i - 1]), `variations not ordered by likeness: ${likeness.join(' | ')}`);
  notes.push(`variations likeness ${values.map((v) => (Number.isFinite(v) ? v.toFixed(2) : 'no face')).join(', ')}`);

  // Keep this character: the face of the image on screen becomes face A.
  await p2.getByRole('region', { name: 'Result' }).getByRole('button', { name: 'Keep this character' }).click();
  await p2.waitForFunction(() => {
    const s = window.__face0.state();
    return s.faces.A.source === 'character' || document.querySelector('.alert[data-source="faceA"]');
  });
  const character = await p2.evaluate(() => window.__face0.state().faces.A.label);
  assert(/^Character from image \d+$/.test(character), `keep this character: face A is "${character}" (${await alertText(p2)})`);
  notes.push(`"${character}" is face A`);

  // A new random face for every image (paper 3.1), then pinning the one that made the image (3.2).
  const perImage = await change(p2, () => p2.getByLabel('A new random face for every image').check());
  const other = await change(p2, () => p2.getByLabel('Seed', { exact: true }).fill(String(seedNow + 7)));
  await change(p2, () => p2.getByLabel('Seed', { exact: true }).fill(String(seedNow)));
  const pinned = await change(p2, () => p2.getByRole('region', { name: 'Result' }).getByRole('button', { name: 'Pin its random face' }).click());
  assert(!(await p2.getByLabel('A new random face for every image').isChecked()), 'pinning did not turn off the random face per image');
  assert(/^Random face of image \d+ \(seed \d+\)$/.test(await p2.getByTestId('face-A-label').innerText()), 'pinned face label');
  assert(sameImage(pinned, perImage), 'the pinned random face does not reproduce its image');
  const pinnedOther = await change(p2, () => p2.getByLabel('Seed', { exact: true }).fill(String(seedNow + 7)));
  assert(!sameImage(pinnedOther, other), 'with the face pinned, another seed still drew another random face');
  notes.push('random face per image pinned: same image, kept across seeds');
  await p2.getByTestId('saved-face').getByRole('button', { name: /^Delete/ }).click();
  assert((await p2.evaluate(() => localStorage.getItem('face0:saved-faces'))) === null, 'deleting the last saved face left data behind');
  return notes.join('; ');
}

/**
 * Photos the detector used to miss (issue 17 part 3), through the UI: the two ~9% faces
 * found and pickable with a hint that says how; a 5% face found with a poor-likeness warning.
 */
async function smallFaces({ page }) {
  await waitForImage(page, 0);
  const scenes = Object.fromEntries(goldenScenes().map((g) => [g.scene.name, g]));
  const upload = async (name) => {
    const png = await scenePng(page, scenes[name].scene);
    return change(page, () => page.getByLabel('Photo for face A').setInputFiles({ name: `${name}.png`, mimeType: 'image/png', buffer: png }));
  };
  await upload('two-faces-9pct');
  const boxes = page.getByLabel('Faces detected in face A photo').locator('rect');
  assert((await boxes.count()) === 2, `two-faces-9pct: ${await boxes.count()} boxes`);
  const hint = await page.getByTestId('face-A-chooser-hint').innerText();
  assert(/2 faces found.*Click a box/.test(hint), `no hint that the boxes are clickable: "${hint}"`);
  const chosenBefore = await page.evaluate(() => window.__face0.state().faces.A.photo.analysis.chosen);
  const other = 1 - chosenBefore;
  await change(page, () => page.getByRole('button', { name: new RegExp(`^Use face ${other + 1} of 2`) }).click());
  assert((await page.evaluate(() => window.__face0.state().faces.A.photo.analysis.chosen)) === other, 'the face button did not pick the other face');
  await upload('one-face-5pct');
  const warning = await page.getByTestId('face-A-likeness').innerText();
  assert(/poor likeness.*px wide/.test(warning), `no small-face warning: "${warning}"`);
  return `two 9% faces found and picked by button; 5% face: "${warning}"`;
}

export const KEEP_FLOWS = [
  { name: 'keep-results', fn: keepResults },
  { name: 'small-faces', fn: smallFaces },
];
