/**
 * The response headers the app needs from whoever serves it: the dev and preview servers send them
 * (vite.config.ts), and on any other host the app's service worker adds them to every response it
 * serves (src/serviceWorker/), so a plain static host needs no configuration.
 */

/**
 * connect-src 'self' is what keeps the app private: every photo stays on the device, and nothing a
 * library might try (e.g. @mediapipe/tasks-vision's usage logger, switched off at build time by
 * vite-plugins/mediapipeTelemetryOff.ts) can reach another host. The header (not a meta tag)
 * matters: a worker gets its policy from its own script's response, and the face detector runs in
 * a worker.
 */
export function contentSecurityPolicy(dev: boolean): string {
  return [
    "default-src 'self'",
    // Dev only: plugin-react's refresh preamble is an inline script.
    `script-src 'self' 'wasm-unsafe-eval'${dev ? " 'unsafe-inline'" : ''}`,
    "worker-src 'self' blob:",
    // Dev only: HMR websocket.
    `connect-src 'self'${dev ? ' ws:' : ''}`,
    "img-src 'self' blob: data:",
    // Dev only: Vite injects CSS as <style> elements.
    `style-src 'self'${dev ? " 'unsafe-inline'" : ''}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(dev: boolean): Record<string, string> {
  return {
    // Cross-origin isolation gives SharedArrayBuffer, hence multi-threaded wasm.
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Content-Security-Policy': contentSecurityPolicy(dev),
  };
}
