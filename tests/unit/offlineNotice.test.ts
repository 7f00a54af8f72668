import { describe, expect, it } from 'vitest';
import { offlineNotice } from '../../src/offline/serviceWorkerClient';

describe('offlineNotice', () => {
  it('says nothing when the service worker is active or in dev', () => {
    expect(offlineNotice({ kind: 'active' }, true)).toBeNull();
    expect(offlineNotice({ kind: 'dev' }, false)).toBeNull();
  });

  it('gives the reason, and the single thread when the page is not isolated', () => {
    const status = { kind: 'unavailable', reason: 'the service worker could not be registered (SecurityError)' } as const;
    expect(offlineNotice(status, true)).toBe('the service worker could not be registered (SecurityError)');
    expect(offlineNotice(status, false)).toBe(
      'the service worker could not be registered (SecurityError); wasm runs on one thread (the page is not cross-origin isolated)',
    );
  });
});
