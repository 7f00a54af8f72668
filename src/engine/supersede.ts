import { EngineError, toEngineError } from './errors';

/**
 * At most one run in flight and one request waiting: a new submit() replaces the waiting one
 * (rejected as 'cancelled') and asks the running one to stop, so requests never queue up.
 */
export class Superseding<Req, Res, P> {
  private running = false;
  private pending: {
    req: Req;
    onProgress: (p: P) => void;
    resolve: (r: Res) => void;
    reject: (e: EngineError) => void;
  } | null = null;

  constructor(
    private readonly run: (req: Req, onProgress: (p: P) => void) => Promise<Res>,
    /** Asks the run in flight to stop; it then rejects with code 'cancelled'. */
    private readonly stopRunning: () => Promise<void>,
  ) {}

  submit(req: Req, onProgress: (p: P) => void): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.dropPending('Superseded by a newer request');
      this.pending = { req, onProgress, resolve, reject };
      if (this.running) void this.stopRunning().catch(() => undefined);
      else this.startNext();
    });
  }

  /** Drops the waiting request and stops the running one. */
  cancel(): Promise<void> {
    this.dropPending('Generation was cancelled');
    return this.stopRunning();
  }

  private dropPending(why: string): void {
    this.pending?.reject(new EngineError('cancelled', why));
    this.pending = null;
  }

  private startNext(): void {
    const job = this.pending;
    this.pending = null;
    if (!job) return;
    this.running = true;
    this.run(job.req, job.onProgress)
      .then(job.resolve, (err: unknown) => job.reject(toEngineError(err)))
      .finally(() => {
        this.running = false;
        this.startNext();
      });
  }
}
