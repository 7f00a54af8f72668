// Flows for the smaller things a user hit (issue 17, part 4).
import { dropFile, resultId, setSlider, waitForImage } from './app.mjs';
import { assert } from './harness.mjs';
import { IDENTITIES } from './scenes.mjs';

const photo = (rel) => `${IDENTITIES}${rel}`;

/** Whether the element's box lies inside the viewport. */
async function onScreen(locator) {
  return locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { top: Math.round(r.top), bottom: Math.round(r.bottom), left: Math.round(r.left), right: Math.round(r.right), inside: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth };
  });
}

/**
 * While the model loads: a slider moved and a photo dropped are kept (the photo queued, with a message);
 * then the Generate button with live updates off, the "outdated" mark, the vocabulary as whole words,
 * and a layout that fits two faces, the interpolation slider and the result on 1440x900, and 390 px.
 */
async function interface_({ context, base, backend, shots, steps }) {
  const notes = [];
  const page = await context.newPage();
  await page.goto(`${base}/?test=1&backend=${backend}&steps=${steps}`);
  await page.getByLabel('Guidance w', { exact: true }).waitFor();
  const loadingAtStart = await page.evaluate(() => window.__face0.state().info === null);
  assert(loadingAtStart, 'the model was ready before the test could act during loading');
  await setSlider(page, 'Guidance w', 3);
  await dropFile(page, 'A', photo('id_00209/166636.jpg'));
  const queued = await page.getByTestId('face-A-queued').innerText();
  assert(/166636\.jpg: waiting for the model to load/.test(queued), `no queued message: "${queued}"`);
  await waitForImage(page, 0);
  await page.waitForFunction(() => window.__face0.state().faces.A.source === 'photo', null, { timeout: 120_000 });
  await waitForImage(page, 0);
  const kept = await page.evaluate(() => window.__face0.state().w);
  assert(kept === 3, `w set to 3 while loading became ${kept} when the model was ready`);
  notes.push('w and a dropped photo kept through loading');

  // Live updates off: a change marks the image outdated until Generate.
  await page.getByLabel('Update as I change settings').uncheck();
  const before = await resultId(page);
  await page.getByLabel('Seed', { exact: true }).fill('77');
  await page.getByTestId('outdated').waitFor({ timeout: 10_000 });
  await page.waitForTimeout(500);
  assert((await resultId(page)) === before && !(await page.evaluate(() => window.__face0.state().generation.running)), 'a change generated with live updates off');
  await page.getByRole('button', { name: 'Generate' }).click();
  await waitForImage(page, before);
  assert((await page.getByTestId('outdated').count()) === 0, 'the outdated mark stayed after Generate');
  await page.getByLabel('Update as I change settings').check();
  notes.push('Generate button; outdated mark until it is pressed');

  await page.getByText(/^Words it saw in training/).click();
  const words = (await page.locator('.vocabulary').innerText()).split(', ');
  assert(words.includes('goatee') && words.includes('spectacles') && !words.includes('atee') && !words.includes('spectac'), `vocabulary: ${words.join(', ')}`);
  notes.push(`${words.length} whole words`);

  // Two faces: the interpolation slider and the whole result on one 1440x900 screen.
  const previous = await resultId(page);
  await page.getByLabel('Photo for face B').setInputFiles(photo('id_00301/038652.jpg'));
  await waitForImage(page, previous);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.evaluate(() => window.scrollTo(0, 0));
  const slider = await onScreen(page.getByLabel('Face A to face B (t)', { exact: true }));
  const result = await onScreen(page.getByTestId('result'));
  const generate = await onScreen(page.getByRole('button', { name: 'Generate' }));
  assert(slider.inside && result.inside && generate.inside, `not on one 1440x900 screen: slider ${JSON.stringify(slider)}, result ${JSON.stringify(result)}, Generate ${JSON.stringify(generate)}`);
  await page.screenshot({ path: `${shots}${backend}-interface-1440x900.png` });
  await page.setViewportSize({ width: 390, height: 844 });
  const phone = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  const image = await page.getByRole('img', { name: 'Generated image' }).evaluate((el) => el.getBoundingClientRect().width);
  assert(phone.scroll <= 390, `390 px wide screen scrolls sideways: content ${phone.scroll} px`);
  assert(image >= 300, `the image is only ${image} px wide on a 390 px screen`);
  await page.screenshot({ path: `${shots}${backend}-interface-390.png`, fullPage: true });
  notes.push(`1440x900: slider bottom ${slider.bottom}, result bottom ${result.bottom}; 390 px: no sideways scroll, image ${Math.round(image)} px`);
  return notes.join('; ');
}

export const UI_FLOWS = [{ name: 'interface', fn: interface_, ownPage: true }];
