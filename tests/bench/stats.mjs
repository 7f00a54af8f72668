// Statistics and shapes shared by the benches (bench.mjs, gap.mjs).

/** Linear-interpolated quantile q of sorted values. */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median, 25th and 75th percentiles, min and max. */
export function quantiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p25: quantile(s, 0.25), p75: quantile(s, 0.75), min: s[0], max: s[s.length - 1] };
}

export function median(xs) {
  return quantiles(xs).median;
}

/**
 * Calls `timeCalls(n)` (resolves with n per-call ms) in windows of `window` calls until a window's median is
 * no longer below the previous one's by more than `tolerance` (freshly compiled wasm is tiered up while it
 * runs, so its calls get faster for a while), or `maxMs` have passed.
 */
export async function warmUntilSteady(timeCalls, { window = 4, tolerance = 0.05, maxMs = 40_000 } = {}) {
  const start = Date.now();
  let previous = Infinity;
  let calls = 0;
  let first = null;
  for (;;) {
    const ms = await timeCalls(window);
    first ??= ms[0];
    calls += ms.length;
    const m = median(ms);
    if (m >= previous * (1 - tolerance) || Date.now() - start > maxMs) return { calls, ms: Date.now() - start, first, steadyMs: m };
    previous = m;
  }
}

/** The inputs of one bundle graph at batch `batch`, as the app feeds them (shapes from the manifest). */
export function graphFeeds(manifest, graph, batch) {
  const C = manifest.latent_channels;
  const h = manifest.latent_size;
  const L = manifest.tokenizer.max_length;
  const D = manifest.context_width;
  const randn = (dims) => ({ dtype: 'float32', dims, fill: 'randn' });
  switch (graph) {
    case 'unet':
      return {
        sample: randn([batch, C, h, h]),
        timestep: { dtype: 'float32', dims: [batch], fill: 'const', value: 500 },
        encoder_hidden_states: randn([batch, L, D]),
      };
    case 'vae_decoder':
      return { latent_sample: randn([batch, C, h, h]) };
    case 'text_encoder':
      return { input_ids: { dtype: 'int64', dims: [batch, L], value: manifest.tokenizer.pad_id } };
    case 'face_projector':
      return { face_embedding: randn([batch, manifest.face_embedder.embedding_width]) };
    case 'face_embedder': {
      const S = manifest.face_embedder.input_size;
      return { pixel_values: randn([batch, 3, S, S]) };
    }
    default:
      throw new Error(`unknown graph ${graph}`);
  }
}
