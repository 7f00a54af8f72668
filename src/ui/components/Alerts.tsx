import { useStore } from '../../store';

/** Always present, so assistive technology announces every message added to it. */
export function Alerts() {
  const alerts = useStore((s) => s.alerts);
  const dismiss = useStore((s) => s.dismiss);
  return (
    <div className="alerts" role="alert" aria-live="assertive">
      {alerts.map((a) => (
        <div key={a.id} className={`alert ${a.level}`} data-source={a.source}>
          <strong>{a.title}.</strong> <span>{a.detail}</span>
          <button type="button" aria-label={`Dismiss: ${a.title}`} onClick={() => dismiss(a.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
