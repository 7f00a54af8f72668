import { EngineError, toEngineError } from '../shared/engineError';

/**
 * At most one run in flight and one request waiting: a new submit() replaces the waiting one
 * (rejected as 'cancelled') and asks the running one to stop, so requests never queue up, unless
 * `mayInterrupt(running, next)` says no: then the new request waits for the running one to finish.
 */
export class Superseding<Req, Res, P> {
  private running: Req | null = null;
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
    private readonly mayInterrupt: (running: Req, next: Req) => boolean = () => true,
  ) {}

  submit(req: Req, onProgress: (p: P) => void): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.dropPending('Superseded by a newer request');
      this.pending = { req, onProgress, resolve, reject };
      if (this.running === null) this.startNext();
      else if (this.mayInterrupt(this.running, req)) void this.stopRunning().catch(() => undefined);
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
    this.running = job.req;
    this.run(job.req, job.onProgress)
      .then(job.resolve, (err: unknown) => job.reject(toEngineError(err)))
      .finally(() => {
        this.running = null;
        this.startNext();
      });
  }
}
