/**
 * Switches @mediapipe/tasks-vision's usage telemetry off in the code the app runs (build and dev server).
 *
 * What it is: tasks-vision 1.1.0 gives every task it creates (our FaceDetector, in the engine worker) a
 * usage logger. The logger queues events (task type, running mode, detection timings, OS, library
 * version) and its uploader POSTs them as protobuf, with an API-key header, to
 * https://odml.pa.googleapis.com/v1/log every 60 s (a setInterval started in the uploader's
 * constructor) and on close(). No option turns it off: the task's setup creates the logger
 * unconditionally, whatever createFromOptions is given.
 *
 * How it is switched off: the uploader has an off state of its own. After a failed POST it sets
 * `this.error`, and from then on flush() sends nothing and the logger queues nothing (it checks
 * `error` before queueing). This patch puts the uploader in that state from the start: where its
 * constructor starts the 60 s timer, it sets `error` instead. So no timer, no queue, no request,
 * ever. The CSP (connect-src 'self', src/security/headers.ts) stays as a second layer.
 *
 * The patch matches the minified bundle of the version pinned in package.json and checks every
 * piece the reasoning above relies on; if one is missing (a tasks-vision update), the build fails
 * rather than ship the logger. `telemetryCheck()` also verifies the built output: every file that
 * contains the logging endpoint contains the patch.
 */
import type { Plugin } from 'vite';

const BUNDLE_FILE = /[\\/]@mediapipe[\\/]tasks-vision[\\/]vision_bundle\.(mjs|cjs|js)$/;
export const LOG_ENDPOINT = 'https://odml.pa.googleapis.com/v1/log';
/** What the uploader's `error` says; also the marker that telemetryCheck() looks for. */
export const TELEMETRY_OFF = 'usage telemetry switched off by Face0 Studio';

/** The uploader's constructor starting its 60-second flush timer. */
const TIMER = /this\.(\w+)=setInterval\(\(\)=>\{this\.flush\(\)\},6e4\)/g;
/** What makes `error` an off switch: flush() sends only without it, and events are queued only without it. */
const FLUSH_GUARD = 'flush(t,e){if(this.error)';
const QUEUE_GUARD = /\.error\|\|\w+\.i\.push\(/g;

const count = (code: string, pattern: string | RegExp) =>
  typeof pattern === 'string' ? code.split(pattern).length - 1 : [...code.matchAll(pattern)].length;

/** The tasks-vision bundle with its telemetry off; throws when the bundle is not the one this patch was written for. */
export function patchTelemetry(code: string, file = 'vision_bundle'): string {
  const found = {
    [`the log endpoint ${LOG_ENDPOINT}`]: count(code, LOG_ENDPOINT),
    'the uploader timer setInterval(() => this.flush(), 60000)': count(code, TIMER),
    [`the flush guard "${FLUSH_GUARD}"`]: count(code, FLUSH_GUARD),
    'the queue guard ".error||….i.push("': count(code, QUEUE_GUARD),
  };
  const wrong = Object.entries(found).filter(([, n]) => n !== 1);
  if (wrong.length > 0) {
    throw new Error(
      `${file}: @mediapipe/tasks-vision is not the build whose telemetry this patch switches off ` +
        `(expected each once: ${wrong.map(([what, n]) => `${what} found ${n} times`).join('; ')}). ` +
        'Re-read the new bundle and update vite-plugins/mediapipeTelemetryOff.ts.',
    );
  }
  return code.replace(TIMER, `this.error=Error(${JSON.stringify(TELEMETRY_OFF)})`);
}

/** The patch as a Vite plugin; it must be in `plugins` and in `worker.plugins` (the detector runs in a worker). */
export function mediapipeTelemetryOff(): Plugin {
  return {
    name: 'face0-mediapipe-telemetry-off',
    enforce: 'pre',
    transform(code, id) {
      const file = id.split('?')[0];
      if (!BUNDLE_FILE.test(file)) return null;
      return { code: patchTelemetry(code, file), map: null };
    },
  };
}

/**
 * Checks the build output (main build, after the worker bundles are in it): some file holds the
 * detector's logger, and every file that names the log endpoint has the patch.
 */
export function telemetryCheck(): Plugin {
  return {
    name: 'face0-mediapipe-telemetry-check',
    apply: 'build',
    generateBundle: {
      order: 'post',
      handler(_options, bundle) {
        const withLogger: string[] = [];
        for (const [name, out] of Object.entries(bundle)) {
          if (!name.endsWith('.js')) continue;
          const code = out.type === 'chunk' ? out.code : String(out.source);
          if (!code.includes(LOG_ENDPOINT)) continue;
          withLogger.push(name);
          if (!code.includes(TELEMETRY_OFF)) this.error(`${name} contains MediaPipe's usage logger unpatched`);
        }
        if (withLogger.length === 0) {
          this.error('no build output contains MediaPipe\'s logger: the face detector is missing, or tasks-vision changed (check it for telemetry)');
        }
      },
    },
  };
}
