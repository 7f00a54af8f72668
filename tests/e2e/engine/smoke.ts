// A bare page for tests/e2e/engine/browser.test.ts: the engine client on window, nothing else.
import { createEngineClient } from '../../../src/engineClient/client';
import { toEngineError } from '../../../src/shared/engineError';

declare global {
  interface Window {
    engine: ReturnType<typeof createEngineClient>;
    toEngineError: typeof toEngineError;
    ready: boolean;
  }
}
window.engine = createEngineClient();
window.toEngineError = toEngineError;
window.ready = true;
