import { useStore } from '../store';
import { crispDisplaySide, RESULT_DISPLAY_TARGET } from './displaySize';
import { useEngine } from './engineContext';
import { formatMs } from './format';
import { jobFromState, runGeneration } from './generation';
import { ImageActions } from './ImageActions';
import { RgbaCanvas } from './RgbaCanvas';

/** The generated image, how it was made, and the progress of the next one. */
export function ResultView() {
  const client = useEngine();
  const result = useStore((s) => s.result);
  const generation = useStore((s) => s.generation);
  const live = useStore((s) => s.live);
  const loaded = useStore((s) => s.info !== null);
  const analysing = useStore((s) => s.faces.A.busy || s.faces.B.busy);
  // "ready" = the image shown matches every control, including a face still being analysed.
  const ready =
    result !== null && !analysing && !generation.pending && !generation.running && result.requestId === generation.requestId;
  const outdated = result !== null && !ready && !generation.running && !analysing && (!live || !generation.pending);
  return (
    <section className="panel result" aria-labelledby="result-title">
      <h2 id="result-title">Result</h2>
      <figure data-testid="result" data-state={ready ? 'ready' : 'pending'} data-request-id={result?.requestId ?? 0}>
        <div className="output-frame">
          {result ? (
            <RgbaCanvas
              className="output crisp"
              image={result}
              label="Generated image"
              displayWidth={crispDisplaySide(result.width, RESULT_DISPLAY_TARGET)}
            />
          ) : (
            <div className="output placeholder">{generation.running ? 'Generating…' : 'No image yet'}</div>
          )}
          {outdated && (
            <span className="outdated" role="status" data-testid="outdated">
              Outdated: made with earlier settings. Press Generate to update it.
            </span>
          )}
        </div>
        {result && (
          <figcaption data-testid="result-stats">
            {formatMs(result.ms)} · {result.unetCalls / result.steps} U-Net call per step · {result.unetBatch}{' '}
            {result.unetBatch === 1 ? 'row' : 'rows'} per call · {result.backend === 'webgpu' ? 'WebGPU' : 'wasm'} · seed{' '}
            {result.settings.seed}
          </figcaption>
        )}
      </figure>
      <div className="generation" aria-live="polite">
        <button
          type="button"
          className="primary"
          disabled={!loaded}
          onClick={() => void runGeneration(client, jobFromState(useStore.getState()))}
        >
          Generate
        </button>
        <label className="toggle">
          <input type="checkbox" checked={live} onChange={(e) => useStore.setState({ live: e.target.checked })} />
          Update as I change settings
        </label>
        {generation.running && (
          <>
            <progress aria-label="Generation progress" value={generation.step} max={Math.max(1, generation.steps)} />
            <span>{generation.decoding ? 'Decoding…' : `Step ${generation.step} of ${generation.steps}`}</span>
            <button type="button" onClick={() => void client.cancel()}>
              Cancel
            </button>
          </>
        )}
      </div>
      {result && <ImageActions item={result} restore={false} />}
    </section>
  );
}
