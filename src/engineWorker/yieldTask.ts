/**
 * Resolves in a new task of the event loop, so that messages queued meanwhile (a cancel(), a newer
 * request) run first. A MessageChannel post, not setTimeout(0): nested timeouts are clamped to 4 ms
 * from the fifth level on (HTML spec), which cost ~2 ms per denoising step in Chromium.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}
