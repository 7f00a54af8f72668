/** Wall-clock milliseconds per named phase (the bundle load's breakdown in EngineInfo.timings). */
export class PhaseTimes {
  private readonly ms = new Map<string, number>();
  private running: { phase: string; start: number } | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Adds `job`'s duration to `phase` (phases may overlap, e.g. hashing one file while fetching the next). */
  async time<T>(phase: string, job: () => Promise<T>): Promise<T> {
    const start = this.now();
    try {
      return await job();
    } finally {
      this.record(phase, this.now() - start);
    }
  }

  /** Ends the phase started by the previous lap() (if any) and starts `phase` (null: none). */
  lap(phase: string | null): void {
    const t = this.now();
    if (this.running) this.record(this.running.phase, t - this.running.start);
    this.running = phase === null ? null : { phase, start: t };
  }

  /** Phases in the order they were first recorded, in ms rounded to 0.1. */
  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.ms].map(([phase, ms]) => [phase, Math.round(ms * 10) / 10]));
  }

  /** Adds `ms` to `phase` (timed elsewhere, e.g. in the download worker). */
  record(phase: string, ms: number): void {
    this.ms.set(phase, (this.ms.get(phase) ?? 0) + ms);
  }
}
