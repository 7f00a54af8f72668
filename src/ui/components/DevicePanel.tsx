import { useEffect, useState } from 'react';
import { forgetEverything, keptSummary, type ForgetReport, type KeptSummary } from '../../offline/deviceData';
import type { OfflineStatus } from '../../offline/serviceWorkerClient';
import { useStore } from '../../store';
import { formatBytes } from '../format';

const STATUS: Record<OfflineStatus['kind'], string> = {
  active: 'Works offline: what this page loads is kept in this browser.',
  dev: 'Development server: nothing is kept for offline use.',
  unavailable: 'Not available offline (see the message above).',
};

/** What the app keeps on this device, and the control that deletes all of it. */
export function DevicePanel({ offline, onForgotten }: { offline: OfflineStatus; onForgotten: (report: ForgetReport) => void }) {
  const ready = useStore((s) => s.load?.stage !== 'loading');
  const [kept, setKept] = useState<KeptSummary | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  // Counted again once loading ends: by then the bundle's files are kept.
  useEffect(() => {
    let current = true;
    keptSummary().then(
      (summary) => current && setKept(summary),
      () => current && setKept(null),
    );
    return () => {
      current = false;
    };
  }, [ready]);

  const forget = async () => {
    setBusy(true);
    try {
      onForgotten(await forgetEverything());
    } catch (err) {
      setFailure(`Could not delete everything: ${err instanceof Error ? err.message : String(err)}`);
      setBusy(false);
    }
  };

  return (
    <section className="panel device-panel" aria-labelledby="device-title">
      <h2 id="device-title">On this device</h2>
      <p className="hint" data-testid="offline-status" data-kind={offline.kind}>
        {STATUS[offline.kind]}
        {kept && kept.files > 0 && ` ${kept.files} files, ${formatBytes(kept.bytes)}.`}
      </p>
      {!confirming ? (
        <button type="button" onClick={() => setConfirming(true)}>
          Forget everything on this device…
        </button>
      ) : (
        <div className="confirm" role="group" aria-label="Confirm forgetting">
          <p>
            Deletes the files kept for offline use, anything saved (faces, settings) and the service worker, and closes
            the model and the photos in this tab.
          </p>
          <button type="button" className="danger" disabled={busy} onClick={() => void forget()}>
            Forget everything
          </button>{' '}
          <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
            Keep
          </button>
        </div>
      )}
      {failure && <p className="alert error">{failure}</p>}
    </section>
  );
}
