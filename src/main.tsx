import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { appRoot } from './appRoot';
import { createEngineClient } from './engineClient/client';
import type { ForgetReport } from './offline/deviceData';
import { offlineNotice, startServiceWorker, type OfflineStatus } from './offline/serviceWorkerClient';
import { useStore } from './store';
import { EngineContext } from './ui/hooks/engineContext';
import { clearFace } from './ui/actions/faceActions';
import { Forgotten } from './ui/components/Forgotten';
import { startEngine } from './ui/actions/startEngine';
import { loadSavedFaces } from './ui/actions/savedFaceStorage';
import { installTestHook } from './ui/testHook';
import { parseUrlOptions } from './ui/urlOptions';
import './ui/app.css';

// First the service worker: on a first visit it reloads the page, and nothing else should start before.
const offline = await startServiceWorker();
const notice = offlineNotice(offline, globalThis.crossOriginIsolated === true);
if (notice) useStore.getState().raise('offline', { level: 'warning', title: 'No offline use', detail: notice });

const options = parseUrlOptions(window.location.search, new URL('models/', appRoot()).href);
const client = createEngineClient();
useStore.setState({ bundleName: options.bundleName });
loadSavedFaces();
if (options.test) installTestHook(client, options);
void startEngine(client, options);

function Root({ offline }: { offline: OfflineStatus }) {
  const [forgotten, setForgotten] = useState<ForgetReport | null>(null);
  if (forgotten) return <Forgotten report={forgotten} />;
  const onForgotten = (report: ForgetReport) => {
    client.terminate();
    clearFace('A');
    clearFace('B');
    setForgotten(report);
  };
  return (
    <EngineContext.Provider value={client}>
      <App bundleName={options.bundleName} offline={offline} onForgotten={onForgotten} />
    </EngineContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root offline={offline} />
  </StrictMode>,
);
