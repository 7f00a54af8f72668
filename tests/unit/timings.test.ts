import { describe, expect, it } from 'vitest';
import { PhaseTimes } from '../../src/engineWorker/timings';

/** A clock the test advances by hand. */
function manualClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('PhaseTimes', () => {
  it('times jobs, adds repeated phases, keeps first-recorded order and rounds to 0.1 ms', async () => {
    const clock = manualClock();
    const times = new PhaseTimes(clock.now);
    await times.time('fetch', async () => clock.advance(10.04));
    await times.time('hash', async () => clock.advance(2));
    await times.time('fetch', async () => clock.advance(5));
    expect(times.toRecord()).toEqual({ fetch: 15, hash: 2 });
    expect(Object.keys(times.toRecord())).toEqual(['fetch', 'hash']);
  });

  it('records a failing job and rethrows its error', async () => {
    const clock = manualClock();
    const times = new PhaseTimes(clock.now);
    const failing = times.time('session', async () => {
      clock.advance(7);
      throw new Error('bad graph');
    });
    await expect(failing).rejects.toThrow('bad graph');
    expect(times.toRecord()).toEqual({ session: 7 });
  });

  it('laps: each lap ends the previous one; lap(null) ends the last', () => {
    const clock = manualClock();
    const times = new PhaseTimes(clock.now);
    times.lap('session a');
    clock.advance(3);
    times.lap('session b');
    clock.advance(4);
    times.lap(null);
    clock.advance(100);
    times.lap(null);
    expect(times.toRecord()).toEqual({ 'session a': 3, 'session b': 4 });
  });
});
