import { useStore } from '../../store';
import { crispDisplaySide, RESULT_DISPLAY_TARGET } from '../displaySize';
import { useEngine } from '../hooks/engineContext';
import { formatMs } from '../format';
import { jobFromState, runGeneration } from '../actions/generation';
import { ImageActions } from './ImageActions';
import { RgbaCanvas } from './RgbaCanvas';

/** The generated image (or a draft, or the step preview of the one being made), how it was made, and progress. */
export function ResultView() {
  const client = useEngine();
  const result = useStore((s) => s.result);
  const preview = useStore((s) => s.preview);
  const generation = useStore((s) => s.generation);
  const live = useStore((s) => s.live);
  const loaded = useStore((s) => s.info !== null);
  const analysing = useStore((s) => s.faces.A.busy || s.faces.B.busy);
  // "ready" = the image shown is the full one for every control, including a face still being analysed.
  const ready =
    result !== null &&
    !result.draft &&
    !analysing &&
    !generation.pending &&
    !generation.running &&
    result.requestId === generation.requestId;
  const outdated = result !== null && !ready && !generation.running && !analysing && (!live || !generation.pending);
  // A step preview replaces an image made for other controls, never a draft of the same ones.
  const showPreview =
    preview !== null &&
    generation.running &&
    preview.requestId === generation.requestId &&
    (result === null || result.version !== preview.version);
  return (
    <section className="panel result" aria-labelledby="result-title">
      <h2 id="result-title">Result</h2>
      <figure
        data-testid="result"
        data-state={ready ? 'ready' : 'pending'}
        data-request-id={result?.requestId ?? 0}
        data-shown={showPreview ? 'preview' : result?.draft ? 'draft' : result ? 'image' : 'none'}
      >
        <div className="output-frame">
          {showPreview ? (
            <RgbaCanvas
              className="output preview"
              image={preview.image}
              label="Step preview"
              displayWidth={crispDisplaySide(preview.image.width, RESULT_DISPLAY_TARGET)}
            />
          ) : result ? (
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
              {result.draft
                ? 'Outdated: a quick draft. Press Generate for the full image.'
                : 'Outdated: made with earlier settings. Press Generate to update it.'}
            </span>
          )}
        </div>
        {showPreview ? (
          <figcaption>
            Preview after step {preview.step} of {preview.steps}
          </figcaption>
        ) : (
          result && (
            <figcaption data-testid="result-stats">
              {result.draft ? `Draft at ${result.steps} steps · ` : ''}
              {formatMs(result.ms)} · {result.unetCalls / result.steps} U-Net call per step · {result.unetBatch}{' '}
              {result.unetBatch === 1 ? 'row' : 'rows'} per call · {result.backend === 'webgpu' ? 'WebGPU' : 'wasm'} · seed{' '}
              {result.settings.seed}
            </figcaption>
          )
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
      {result && !result.draft && <ImageActions item={result} restore={false} />}
    </section>
  );
}
