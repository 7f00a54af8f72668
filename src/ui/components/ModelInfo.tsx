import { useStore } from '../../store';

/** What the loaded model is and is not able to do, in its own (manifest) words. */
export function ModelInfo() {
  const manifest = useStore((s) => s.info?.manifest);
  if (!manifest) return null;
  const words = manifest.vocabulary_seen;
  return (
    <section className="panel model-info" aria-labelledby="model-title">
      <h2 id="model-title">About this model</h2>
      <p>{manifest.description}</p>
      <p className="hint">
        {manifest.image_size}×{manifest.image_size} px output · licence: {manifest.license}
      </p>
      {words.length > 0 && (
        <details>
          <summary>Words it saw in training ({words.length}); others have little effect</summary>
          <p className="vocabulary">{words.join(', ')}</p>
        </details>
      )}
    </section>
  );
}
