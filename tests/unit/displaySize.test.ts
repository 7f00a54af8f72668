import { describe, expect, it } from 'vitest';
import { crispDisplaySide } from '../../src/ui/displaySize';

describe('crispDisplaySide', () => {
  it('scales by the largest whole factor that stays within the target', () => {
    expect(crispDisplaySide(64, 384)).toBe(384);
    expect(crispDisplaySide(128, 384)).toBe(384);
    expect(crispDisplaySide(128, 500)).toBe(384);
    expect(crispDisplaySide(96, 384)).toBe(384);
    expect(crispDisplaySide(100, 384)).toBe(300);
  });

  it('never shrinks an image below its own side', () => {
    expect(crispDisplaySide(512, 384)).toBe(512);
  });
});
