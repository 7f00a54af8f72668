// A reverse proxy that makes every response share one link of a given speed, with a fixed latency
// per request. It sits in front of the served app, so requests from any worker (nested ones, which
// Chromium's per-page network emulation does not reach) go over the same link.
import { once } from 'node:events';
import http from 'node:http';

/** Headers about the connection, not the content: the proxy's own connection sets them. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the proxy for `upstream` (http://host:port); resolves with its base URL and close(). */
export async function slowLink(upstream, { mbps, latencyMs = 20 }) {
  const bytesPerMs = (mbps * 1e6) / 8 / 1000;
  let linkFreeAt = 0; // when the shared link has sent everything queued so far
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const forward = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      async (up) => {
        try {
          await sleep(latencyMs);
          const headers = Object.fromEntries(Object.entries(up.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
          res.writeHead(up.statusCode ?? 502, headers);
          for await (const chunk of up) {
            const now = Date.now();
            linkFreeAt = Math.max(linkFreeAt, now) + chunk.length / bytesPerMs;
            await sleep(linkFreeAt - now);
            if (!res.write(chunk)) await once(res, 'drain');
          }
          res.end();
        } catch {
          res.destroy();
        }
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
