import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createEngineClient } from './engine/client';
import { EngineContext } from './ui/engineContext';
import { startEngine } from './ui/startEngine';
import { useStore } from './store';
import { loadSavedFaces } from './ui/savedFaceStorage';
import { installTestHook } from './ui/testHook';
import { parseUrlOptions } from './ui/urlOptions';
import './ui/app.css';

const options = parseUrlOptions(window.location.search, `${import.meta.env.BASE_URL}models/`);
const client = createEngineClient();
useStore.setState({ bundleName: options.bundleName });
loadSavedFaces();
if (options.test) installTestHook(client, options);
void startEngine(client, options);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <EngineContext.Provider value={client}>
      <App bundleName={options.bundleName} />
    </EngineContext.Provider>
  </StrictMode>,
);
