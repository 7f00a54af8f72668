/** The real models/default manifest and how the manifest tests break it and read the refusal. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Manifest } from '../../src/bundle/manifest';
import { validateManifest } from '../../src/bundle/validate';

export const base = JSON.parse(readFileSync(new URL('../../models/default/manifest.json', import.meta.url), 'utf8')) as Manifest;

/** A deep copy of models/default's manifest after `edit`. */
export function mutated(edit: (m: Record<string, any>) => void): Record<string, any> {
  const m = structuredClone(base) as unknown as Record<string, any>;
  edit(m);
  return m;
}

/** validateManifest's message for a manifest it must refuse (fails the test if it accepts it). */
export function problemOf(raw: unknown): string {
  try {
    validateManifest(raw);
  } catch (err) {
    expect(err).toMatchObject({ code: 'bad_bundle' });
    return (err as Error).message;
  }
  throw new Error('validateManifest accepted the manifest');
}
