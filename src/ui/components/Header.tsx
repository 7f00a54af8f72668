import { useStore } from '../../store';
import { backendLabel } from '../format';

export function Header({ bundleName }: { bundleName: string }) {
  const info = useStore((s) => s.info);
  return (
    <header className="app-header">
      <h1>Face0 Studio</h1>
      <span className="bundle" aria-label="Model bundle" title={`models/${bundleName}/`}>
        {info ? `${info.manifest.name} (${bundleName})` : bundleName}
      </span>
      {/* Why it is not on WebGPU is said once, in the alert below; the badge repeats it only on hover. */}
      {info && (
        <span className={`badge ${info.backend}`} aria-label="Backend" title={info.fallbackReason ?? undefined}>
          {backendLabel(info)}
        </span>
      )}
    </header>
  );
}
