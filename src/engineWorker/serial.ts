/** Runs async jobs one after another (ORT sessions must not run concurrently; creation is one at a time). */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    // A failed job must not poison the jobs queued after it.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
