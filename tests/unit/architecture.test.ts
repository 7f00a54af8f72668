// The rules of docs/architecture.md, read from the imports of every file in src/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Rooms by floor (docs/architecture.md): a room imports only from its own floor or lower ones. */
const FLOORS: Record<string, number> = {
  shared: 0, text: 0, appRoot: 0, security: 0,
  bundle: 1,
  diffusion: 2,
  face: 3, results: 3,
  engineWorker: 4,
  store: 5, offline: 5, engineClient: 5,
  ui: 6,
  App: 7, main: 7,
};
const SERVICE_WORKER_MAY_IMPORT = new Set(['serviceWorker', 'security', 'shared']);
const PAGE_ROOMS = new Set(['ui', 'store', 'offline', 'engineClient', 'App', 'main']);
/** What the page may import from the engine worker's room: the types of its API (engineClient/ is the handle). */
const WORKER_FOR_THE_PAGE = new Set(['engineWorker/api.ts']);
/** ui/'s layers: a file imports only from its own layer or lower ones. */
const UI_LAYERS: Record<string, number> = { helpers: 0, actions: 1, hooks: 2, components: 3 };
/** Packages only these files (relative to src/, or a room/ prefix) may import. */
const PACKAGE_OWNERS: Record<string, string[]> = {
  'onnxruntime-web': ['engineWorker/ort.ts'],
  '@mediapipe/tasks-vision': ['face/detector.ts'],
  comlink: ['engineClient/client.ts', 'engineWorker/worker.ts'],
  zustand: ['store.ts'],
  react: ['ui/components/', 'ui/hooks/', 'App.tsx', 'main.tsx'],
  'react-dom': ['main.tsx'],
};

interface Import {
  from: string;
  target: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

function resolve(file: string, spec: string): string {
  const base = path.resolve(path.dirname(file), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && candidate !== base) return path.relative(SRC, candidate);
  }
  return path.relative(SRC, base);
}

/** Static imports and re-exports, and dynamic import() of string literals. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]);
  const from = path.relative(SRC, file);
  return specs.map((spec) => ({ from, target: spec.startsWith('.') ? resolve(file, spec) : `package:${spec}` }));
}

function roomOf(relative: string): string {
  const [first, ...rest] = relative.split(path.sep);
  return rest.length ? first : first.replace(/\.tsx?$/, '');
}

/** A ui/ file's layer: its subfolder, or 'helpers' for the files directly in ui/. */
function uiLayer(relative: string): string {
  const parts = relative.split(path.sep);
  return parts.length > 2 ? parts[1] : 'helpers';
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);
const local = imports.filter((i) => !i.target.startsWith('package:') && !i.target.endsWith('.css'));

describe('docs/architecture.md', () => {
  it('reads a real import graph', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(local.length).toBeGreaterThan(100);
    for (const room of new Set(files.map((f) => roomOf(path.relative(SRC, f))))) {
      expect(room in FLOORS || room === 'serviceWorker', `room ${room} has no floor in the map`).toBe(true);
    }
  });

  it('rooms import only from their own floor or lower ones', () => {
    const upward = local
      .filter(({ from }) => roomOf(from) !== 'serviceWorker')
      .filter(({ from, target }) => FLOORS[roomOf(target)] > FLOORS[roomOf(from)])
      .map(({ from, target }) => `${from} -> ${target}`);
    expect(upward).toEqual([]);
  });

  it('the service worker imports only the headers and shared code', () => {
    const wrong = local
      .filter(({ from, target }) => roomOf(from) === 'serviceWorker' && !SERVICE_WORKER_MAY_IMPORT.has(roomOf(target)))
      .map(({ from, target }) => `${from} -> ${target}`);
    expect(wrong).toEqual([]);
  });

  it('the page imports from engineWorker/ only the types of its API', () => {
    const internals = local
      .filter(({ from, target }) => PAGE_ROOMS.has(roomOf(from)) && roomOf(target) === 'engineWorker')
      .filter(({ target }) => !WORKER_FOR_THE_PAGE.has(target.split(path.sep).join('/')))
      .map(({ from, target }) => `${from} -> ${target}`);
    expect(internals).toEqual([]);
  });

  it('ui/ is layered: helpers, actions, hooks, components; each imports only its own layer or lower ones', () => {
    const inUi = files.map((f) => path.relative(SRC, f)).filter((f) => roomOf(f) === 'ui');
    for (const f of inUi) expect(uiLayer(f) in UI_LAYERS, `${f} is in no layer of ui/`).toBe(true);
    const upward = local
      .filter(({ from, target }) => roomOf(from) === 'ui' && roomOf(target) === 'ui')
      .filter(({ from, target }) => UI_LAYERS[uiLayer(target)] > UI_LAYERS[uiLayer(from)])
      .map(({ from, target }) => `${from} -> ${target}`);
    expect(upward).toEqual([]);
  });

  it('each package that owns a thread or a job is imported only by its owners', () => {
    const wrong = imports
      .filter((i) => i.target.startsWith('package:'))
      .flatMap(({ from, target }) => {
        const owners = PACKAGE_OWNERS[packageName(target.slice('package:'.length))];
        const file = from.split(path.sep).join('/');
        return owners && !owners.some((o) => (o.endsWith('/') ? file.startsWith(o) : file === o)) ? [`${file} -> ${target}`] : [];
      });
    expect(wrong).toEqual([]);
  });

  it('no import cycles between files', () => {
    const graph = new Map<string, string[]>();
    for (const { from, target } of local) graph.set(from, [...(graph.get(from) ?? []), target]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, trail: string[]) => {
      state.set(node, 'open');
      for (const next of graph.get(node) ?? []) {
        const open = [...trail, node];
        if (state.get(next) === 'open') cycles.push([...open.slice(open.indexOf(next)), next].join(' -> '));
        else if (!state.has(next)) visit(next, [...trail, node]);
      }
      state.set(node, 'done');
    };
    for (const node of graph.keys()) if (!state.has(node)) visit(node, []);
    expect(cycles).toEqual([]);
  });
});
