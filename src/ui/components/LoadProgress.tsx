import { useStore } from '../../store';
import { formatBytes } from '../format';

/** Bundle download and session creation (which overlap); hidden once the engine is ready. */
export function LoadProgress() {
  const load = useStore((s) => s.load);
  if (load === null || load.stage === 'ready' || load.stage === 'failed') return null;
  const downloading = load.totalBytes > 0 && load.loadedBytes < load.totalBytes;
  const parts = [
    downloading ? `Downloading ${load.file}: ${formatBytes(load.loadedBytes)} of ${formatBytes(load.totalBytes)}` : null,
    load.preparing ? `preparing ${load.preparing}…` : null,
  ].filter((part) => part !== null);
  const text = parts.length > 0 ? parts.join(' · ') : 'Loading model…';
  return (
    <div className="load-progress">
      <progress
        aria-label="Model download"
        value={downloading ? load.loadedBytes : undefined}
        max={downloading ? load.totalBytes : undefined}
      />
      <span>{text.charAt(0).toUpperCase() + text.slice(1)}</span>
    </div>
  );
}
