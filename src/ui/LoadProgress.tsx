import { useStore } from '../store';
import { formatBytes } from './format';

/** Bundle download and session creation; hidden once the engine is ready. */
export function LoadProgress() {
  const load = useStore((s) => s.load);
  if (load === null || load.stage === 'ready' || load.stage === 'failed') return null;
  const known = load.totalBytes > 0;
  return (
    <div className="load-progress">
      <progress
        aria-label="Model download"
        value={known ? load.loadedBytes : undefined}
        max={known ? load.totalBytes : undefined}
      />
      <span>
        {load.stage === 'session'
          ? `Preparing ${load.file}…`
          : known
            ? `Downloading model: ${formatBytes(load.loadedBytes)} of ${formatBytes(load.totalBytes)}${load.file ? ` (${load.file})` : ''}`
            : 'Loading model…'}
      </span>
    </div>
  );
}
