/** The background warm-up (src/engineWorker/warmup.ts): when it stops, and how real work pauses it. */
import { describe, expect, it } from 'vitest';
import type { CancelToken } from '../../src/engineWorker/cancel';
import { isSteady, Warmup, type WarmupLimits } from '../../src/engineWorker/warmup';
import { yieldToEventLoop } from '../../src/engineWorker/yieldTask';

const LIMITS: WarmupLimits = { minRounds: 3, tolerance: 0.05, maxBusyMs: 10_000, idleMs: 20 };

describe('isSteady', () => {
  it('waits for minRounds, then for a round that is no faster than the best before it', () => {
    expect(isSteady([100, 100], LIMITS)).toBe(false);
    expect(isSteady([300, 200, 120], LIMITS)).toBe(false); // still falling
    expect(isSteady([300, 200, 120, 118], LIMITS)).toBe(true); // within 5 % of the best
    expect(isSteady([300, 120, 200], LIMITS)).toBe(true); // slower than the best: no improvement
    expect(isSteady([300, 200, 120, 100], LIMITS)).toBe(false);
  });
});

/** A round that takes `ms` of a fake clock per U-Net call and can be held open by the test. */
function fakeRounds(times: number[]) {
  let clock = 0;
  const log: string[] = [];
  let hold: ((v: void) => void) | null = null;
  let holding = false;
  const round = async (token: CancelToken) => {
    const ms = times[Math.min(log.length, times.length - 1)];
    log.push('start');
    if (holding) await new Promise((r) => (hold = r));
    await yieldToEventLoop();
    token.throwIfCancelled();
    clock += ms;
    log[log.length - 1] = `round ${ms}`;
    return ms;
  };
  return {
    round,
    log,
    now: () => clock,
    holdNext: () => (holding = true),
    release: () => {
      holding = false;
      hold?.();
    },
  };
}

describe('Warmup', () => {
  it('runs rounds until the time per call stops falling', async () => {
    const f = fakeRounds([400, 250, 120, 121, 50]);
    const report = await new Warmup(f.round, LIMITS, f.now).run();
    expect(report).toMatchObject({ rounds: 4, outcome: 'steady', unetMsPerCall: [400, 250, 120, 121] });
    expect(report.busyMs).toBe(400 + 250 + 120 + 121);
  });

  it('ends at the busy-time limit when the times never settle', async () => {
    const f = fakeRounds([5000, 4000, 3000, 2000, 1000]);
    const report = await new Warmup(f.round, { ...LIMITS, maxBusyMs: 8000 }, f.now).run();
    expect(report).toMatchObject({ rounds: 2, outcome: 'time limit' });
  });

  it('cancels the round in flight for real work, waits while it runs, and resumes afterwards', async () => {
    const f = fakeRounds([400, 250, 120, 121]);
    const warmup = new Warmup(f.round, LIMITS, () => performance.now());
    f.holdNext();
    const running = warmup.run();
    await yieldToEventLoop();
    expect(f.log).toEqual(['start']);
    let finishWork!: () => void;
    const work = warmup.foreground(() => new Promise<string>((r) => (finishWork = () => r('image'))));
    f.release(); // the held round sees its token cancelled
    await new Promise((r) => setTimeout(r, 60));
    expect(f.log).toEqual(['start']); // cancelled, and no round while the work runs
    finishWork();
    expect(await work).toBe('image');
    const report = await running;
    expect(report.outcome).toBe('steady');
    expect(f.log.slice(1)).toEqual(['round 250', 'round 120', 'round 121']);
  });

  it('stops when told to, and foreground work still runs', async () => {
    const f = fakeRounds([400]);
    const warmup = new Warmup(f.round, LIMITS, f.now);
    f.holdNext();
    const running = warmup.run();
    await yieldToEventLoop();
    warmup.stop();
    f.release();
    expect((await running).outcome).toBe('stopped');
    expect(await warmup.foreground(async () => 7)).toBe(7);
  });
});
