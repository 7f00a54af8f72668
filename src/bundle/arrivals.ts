/** A promise per bundle file: resolved with its bytes when it has arrived, rejected if the download fails first. */
import { bundleError } from './validate';

interface Settle {
  resolve: (bytes: Uint8Array) => void;
  reject: (err: unknown) => void;
}

export class Arrivals {
  /** The files delivered so far, in arrival order. */
  readonly files = new Map<string, Uint8Array>();
  private readonly waiting = new Map<string, Settle>();
  private readonly promises = new Map<string, Promise<Uint8Array>>();

  constructor(paths: Iterable<string>) {
    for (const path of paths) {
      const promise = new Promise<Uint8Array>((resolve, reject) => this.waiting.set(path, { resolve, reject }));
      promise.catch(() => undefined); // a failure reaches whoever awaits the file; never "unhandled"
      this.promises.set(path, promise);
    }
  }

  arrived(path: string): Promise<Uint8Array> {
    return this.promises.get(path) ?? Promise.reject(bundleError(path, ['is not listed in manifest.files']));
  }

  deliver(path: string, bytes: Uint8Array): void {
    this.files.set(path, bytes);
    this.waiting.get(path)?.resolve(bytes);
  }

  /** Rejects every file not delivered yet (a promise already resolved stays so). */
  fail(err: unknown): void {
    for (const { reject } of this.waiting.values()) reject(err);
  }

  get allDelivered(): boolean {
    return this.files.size === this.promises.size;
  }
}
