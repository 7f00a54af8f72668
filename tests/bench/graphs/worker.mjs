// One onnxruntime-web runtime and one session in a module worker, timed call by call (tests/bench/gap.mjs).
// Messages: {load: {entry, threads, model, optLevel, flags, batch, feeds}} -> {loaded: {ms}};
// {run: n} -> {ms: [...]}; {endProfiling: true} -> {lines: [...]} (flag 'profile': onnxruntime's per-node
// profile, which its wasm build prints to the console; caught here).
const printed = [];
const log = console.log.bind(console);
console.log = (...args) => {
  printed.push(args.join(' '));
  if (printed.length > 200_000) printed.shift();
};
console.log.original = log;
let session = null;
let feeds = null;
let ort = null;

function normals(n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - Math.random();
    const v = Math.random();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

function makeFeeds(spec) {
  const out = {};
  for (const [name, f] of Object.entries(spec)) {
    const size = f.dims.reduce((a, b) => a * b, 1);
    if (f.dtype === 'int64') out[name] = new ort.Tensor('int64', BigInt64Array.from({ length: size }, () => BigInt(f.value)), f.dims);
    else out[name] = new ort.Tensor('float32', f.fill === 'const' ? new Float32Array(size).fill(f.value) : normals(size), f.dims);
  }
  return out;
}

self.onmessage = async ({ data }) => {
  try {
    if (data.load) {
      const { entry, threads, model, optLevel, flags, batch, feeds: spec } = data.load;
      ort = await import(entry);
      ort.env.wasm.numThreads = threads;
      ort.env.wasm.proxy = false;
      ort.env.logLevel = 'error';
      const bytes = new Uint8Array(await (await fetch(model)).arrayBuffer());
      const t0 = performance.now();
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: flags.includes('xnnpack') ? ['xnnpack', 'wasm'] : ['wasm'],
        graphOptimizationLevel: optLevel,
        ...(flags.includes('nospin') ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
        ...(flags.includes('fixed') ? { freeDimensionOverrides: { B: batch } } : {}),
        ...(flags.includes('profile') ? { enableProfiling: true } : {}),
      });
      feeds = makeFeeds(spec);
      self.postMessage({ loaded: { ms: performance.now() - t0 } });
    } else if (data.run) {
      const ms = [];
      for (let i = 0; i < data.run; i++) {
        const t0 = performance.now();
        const out = await session.run(feeds);
        ms.push(performance.now() - t0);
        for (const t of Object.values(out)) t.dispose();
      }
      self.postMessage({ ms });
    } else if (data.endProfiling) {
      printed.length = 0;
      await session.endProfiling();
      self.postMessage({ lines: printed.splice(0) });
    }
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
