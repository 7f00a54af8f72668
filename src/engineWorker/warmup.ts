/**
 * Warming the graphs while the user is still choosing a photo. Chromium runs freshly compiled wasm as
 * baseline code until its hot functions have been recompiled by the optimising tier, which takes
 * seconds of running (a U-Net call took 127 ms cold vs 30 ms warm): without a warm-up the user's first
 * images pay for it. The warm-up runs rounds (one image at the app's shapes) in the background until
 * the U-Net's time per call stops falling; any real work pauses it (a round in flight is cancelled at
 * its next step) and it resumes once the engine has been idle for a moment.
 */
import { CancelToken } from './cancel';
import { toEngineError } from '../shared/engineError';

export interface WarmupReport {
  /** Rounds finished (a cancelled one is not counted). */
  rounds: number;
  /** Time spent in rounds, cancelled ones included (pauses excluded). */
  busyMs: number;
  /** Median ms per U-Net call of each finished round, in order. */
  unetMsPerCall: number[];
  outcome: 'steady' | 'time limit' | 'stopped';
}

export interface WarmupLimits {
  /** Rounds before the steadiness test applies. */
  minRounds: number;
  /** A round is no improvement unless it is this much faster than the best before it. */
  tolerance: number;
  /** Busy time after which the warm-up ends regardless. */
  maxBusyMs: number;
  /** Idle time after real work before a round starts again. */
  idleMs: number;
}

export const WARMUP_LIMITS: WarmupLimits = { minRounds: 3, tolerance: 0.05, maxBusyMs: 20_000, idleMs: 300 };

/** True once the last round brought no improvement over the best earlier one (times per U-Net call). */
export function isSteady(msPerCall: readonly number[], limits: Pick<WarmupLimits, 'minRounds' | 'tolerance'>): boolean {
  if (msPerCall.length < limits.minRounds) return false;
  const best = Math.min(...msPerCall.slice(0, -1));
  return msPerCall[msPerCall.length - 1] >= best * (1 - limits.tolerance);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Warmup {
  private foregroundJobs = 0;
  private lastForegroundEnd: number | null = null;
  private idle: { promise: Promise<void>; resolve: () => void } | null = null;
  private roundToken: CancelToken | null = null;
  private stopped = false;
  private running: Promise<WarmupReport> | null = null;

  constructor(
    /** One round; resolves with its ms per U-Net call. Must stop (reject 'cancelled') when `token` is cancelled. */
    private readonly round: (token: CancelToken) => Promise<number>,
    private readonly limits: WarmupLimits = WARMUP_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Starts the rounds, or joins those under way. */
  run(): Promise<WarmupReport> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Runs real work: the round in flight is cancelled and no round starts until the engine is idle again. */
  foreground<T>(job: () => Promise<T>): Promise<T> {
    this.foregroundJobs++;
    this.roundToken?.cancel();
    const done = () => {
      this.foregroundJobs--;
      this.lastForegroundEnd = this.now();
      if (this.foregroundJobs === 0) {
        this.idle?.resolve();
        this.idle = null;
      }
    };
    let result: Promise<T>;
    try {
      result = job();
    } catch (err) {
      done();
      throw err;
    }
    return result.finally(done);
  }

  /** Ends the warm-up (the engine is disposed or re-initialised). */
  stop(): void {
    this.stopped = true;
    this.roundToken?.cancel();
    this.idle?.resolve();
  }

  private async untilIdle(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      if (this.foregroundJobs > 0) {
        if (!this.idle) {
          let resolve!: () => void;
          const promise = new Promise<void>((r) => (resolve = r));
          this.idle = { promise, resolve };
        }
        await this.idle.promise;
        continue;
      }
      const end = this.lastForegroundEnd;
      if (end === null) return;
      const wait = end + this.limits.idleMs - this.now();
      if (wait <= 0) return;
      await sleep(wait);
      // Idle all along unless real work came and went meanwhile.
      if (this.foregroundJobs === 0 && this.lastForegroundEnd === end) return;
    }
  }

  private async loop(): Promise<WarmupReport> {
    const times: number[] = [];
    let busyMs = 0;
    for (;;) {
      await this.untilIdle();
      if (this.stopped) return { rounds: times.length, busyMs, unetMsPerCall: times, outcome: 'stopped' };
      const token = new CancelToken();
      this.roundToken = token;
      const start = this.now();
      try {
        times.push(await this.round(token));
      } catch (err) {
        if (toEngineError(err).code !== 'cancelled') throw err;
      } finally {
        busyMs += this.now() - start;
        this.roundToken = null;
      }
      if (isSteady(times, this.limits)) return { rounds: times.length, busyMs, unetMsPerCall: times, outcome: 'steady' };
      if (busyMs >= this.limits.maxBusyMs) return { rounds: times.length, busyMs, unetMsPerCall: times, outcome: 'time limit' };
    }
  }
}
