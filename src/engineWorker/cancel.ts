import { EngineError } from '../shared/engineError';
import { yieldToEventLoop } from './yieldTask';

/** Flipped by cancel() or by a newer generate(); the pipeline checks it between awaited steps. */
export class CancelToken {
  private cancelled = false;

  cancel(): void {
    this.cancelled = true;
  }

  throwIfCancelled(): void {
    if (this.cancelled) throw new EngineError('cancelled', 'Generation was cancelled');
  }

  /**
   * Lets queued messages (a cancel(), a newer request) run, then throws if cancelled. Needed because
   * a wasm session.run resolves without leaving the microtask queue, so a generation loop built only
   * from awaits would never let the worker see a message until it finished.
   */
  async checkpoint(): Promise<void> {
    await yieldToEventLoop();
    this.throwIfCancelled();
  }
}
