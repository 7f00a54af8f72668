import { describe, expect, it } from 'vitest';
import { cacheKey, isStorable, sameFile, staleBuildFiles, withHeaders } from '../../src/serviceWorker/cachePolicy';
import { securityHeaders } from '../../src/security/headers';

const SCOPE = 'https://user.example.io/face0/';

describe('service worker cache policy', () => {
  it('keys a response by its URL without query or fragment, the page by its folder', () => {
    expect(cacheKey(`${SCOPE}?test=1&backend=wasm`, SCOPE)).toBe(SCOPE);
    expect(cacheKey(`${SCOPE}index.html?bundle=x#top`, SCOPE)).toBe(SCOPE);
    expect(cacheKey(`${SCOPE}models/default/unet.onnx?v=2`, SCOPE)).toBe(`${SCOPE}models/default/unet.onnx`);
    expect(cacheKey(`${SCOPE}models/index.html`, SCOPE)).toBe(`${SCOPE}models/index.html`);
  });

  it('keeps only whole, final answers the host allows to be stored', () => {
    expect(isStorable(new Response('x'))).toBe(true);
    expect(isStorable(new Response('x', { headers: { 'cache-control': 'no-cache' } }))).toBe(true);
    expect(isStorable(new Response('x', { headers: { 'cache-control': 'private, no-store' } }))).toBe(false);
    expect(isStorable(new Response('x', { status: 404 }))).toBe(false);
    expect(isStorable(new Response('x', { status: 206 }))).toBe(false);
    const redirected = new Response('x');
    Object.defineProperty(redirected, 'redirected', { value: true });
    expect(isStorable(redirected)).toBe(false);
  });

  it('recognises an unchanged file by ETag, else by Last-Modified and length', () => {
    const h = (init: Record<string, string>) => new Headers(init);
    expect(sameFile(h({ etag: '"a"' }), h({ etag: '"a"' }))).toBe(true);
    expect(sameFile(h({ etag: '"a"' }), h({ etag: '"b"' }))).toBe(false);
    const modified = { 'last-modified': 'Sat, 06 Dec 2026 10:00:00 GMT', 'content-length': '12' };
    expect(sameFile(h(modified), h(modified))).toBe(true);
    expect(sameFile(h(modified), h({ ...modified, 'content-length': '13' }))).toBe(false);
    expect(sameFile(h(modified), h({ ...modified, 'last-modified': 'Sun, 07 Dec 2026 10:00:00 GMT' }))).toBe(false);
    // Without validators every fresh copy is written.
    expect(sameFile(h({}), h({}))).toBe(false);
    expect(sameFile(h({ 'content-length': '12' }), h({ 'content-length': '12' }))).toBe(false);
  });

  it('drops earlier builds\u2019 assets/ files, and nothing else', () => {
    const kept = [SCOPE, `${SCOPE}assets/index-OLD.js`, `${SCOPE}assets/index-NEW.js`, `${SCOPE}ort/ort.wasm`, `${SCOPE}models/default/unet.onnx`];
    expect(staleBuildFiles(kept, SCOPE, ['assets/index-NEW.js', 'assets/worker-NEW.js'])).toEqual([`${SCOPE}assets/index-OLD.js`]);
  });

  it('adds the security headers, replacing the host\u2019s, and keeps status and body', async () => {
    const headers = securityHeaders(false);
    const out = withHeaders(
      new Response('body', { status: 200, statusText: 'OK', headers: { 'content-type': 'text/html', 'cross-origin-opener-policy': 'unsafe-none' } }),
      headers,
    );
    expect(out.status).toBe(200);
    expect(out.headers.get('content-type')).toBe('text/html');
    expect(out.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(out.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(out.headers.get('content-security-policy')).toMatch(/connect-src 'self';/);
    expect(await out.text()).toBe('body');
    expect(withHeaders(new Response(null, { status: 304 }), headers).status).toBe(304);
  });
});
