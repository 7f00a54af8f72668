import { useStore } from '../store';
import { backendLabel, fallbackNotice } from './format';

export function Header({ bundleName }: { bundleName: string }) {
  const info = useStore((s) => s.info);
  const notice = info ? fallbackNotice(info) : null;
  return (
    <header className="app-header">
      <h1>Face0 Studio</h1>
      <span className="bundle" aria-label="Model bundle" title={`models/${bundleName}/`}>
        {info ? `${info.manifest.name} (${bundleName})` : bundleName}
      </span>
      {info && (
        <span className={`badge ${info.backend}`} aria-label="Backend" title={info.fallbackReason ?? undefined}>
          {backendLabel(info)}
        </span>
      )}
      {notice && <span className="fallback">{notice}</span>}
    </header>
  );
}
