/**
 * Builds src/serviceWorker/sw.ts into sw.js at the root of the build (a service worker's scope is its
 * folder and below, so it cannot live under assets/ with a hashed name), as one self-contained
 * classic script: module service workers are not supported everywhere. The list of this build's
 * assets/ files is written into it, so the worker can drop earlier builds' files from its cache,
 * and so every build that changes the app changes sw.js too, which is what makes browsers update it.
 */
import { resolve } from 'node:path';
import type { Plugin } from 'vite';

export const SERVICE_WORKER_FILE = 'sw.js';
const ENTRY = 'src/serviceWorker/sw.ts';
const ASSETS_PLACEHOLDER = '__FACE0_BUILD_ASSETS__';

export function serviceWorker(): Plugin {
  let root = '';
  let assetsDir = 'assets';
  return {
    name: 'face0-service-worker',
    apply: 'build',
    configResolved(config) {
      root = config.root;
      assetsDir = config.build.assetsDir;
    },
    buildStart() {
      this.emitFile({ type: 'chunk', id: resolve(root, ENTRY), fileName: SERVICE_WORKER_FILE });
    },
    generateBundle: {
      // After Vite has added the worker bundles and index.html.
      order: 'post',
      handler(_options, bundle) {
        const sw = bundle[SERVICE_WORKER_FILE];
        if (sw?.type !== 'chunk') return this.error(`${SERVICE_WORKER_FILE} was not built`);
        const links = [...sw.imports, ...sw.dynamicImports];
        if (links.length > 0 || sw.exports.length > 0) {
          this.error(`${SERVICE_WORKER_FILE} must be one classic script, but it links ${[...links, ...sw.exports].join(', ')}`);
        }
        const assets = Object.keys(bundle)
          .filter((name) => name.startsWith(`${assetsDir}/`))
          .sort();
        const parts = sw.code.split(ASSETS_PLACEHOLDER);
        if (parts.length !== 2) this.error(`${SERVICE_WORKER_FILE}: expected ${ASSETS_PLACEHOLDER} once, found it ${parts.length - 1} times`);
        sw.code = parts.join(JSON.stringify(assets));
      },
    },
  };
}
