import { describe, expect, it } from 'vitest';
import { deviceLostError } from '../../src/shared/engineError';
import { noticeFromError } from '../../src/ui/messages';

const count = (text: string, word: string) => text.split(word).length - 1;

describe('backend notices', () => {
  it('give the reason once, without repeating "WebGPU failed"', () => {
    const lost = noticeFromError(deviceLostError('unet', 'GPU process crashed'));
    expect(lost.level).toBe('warning');
    const shown = `${lost.title} ${lost.detail}`;
    expect(count(shown, 'WebGPU failed')).toBe(1);
    expect(shown).toContain('device lost during unet');
  });
});
