import type { ForgetReport } from './offline/deviceData';
import type { OfflineStatus } from './offline/serviceWorkerClient';
import { Alerts } from './ui/Alerts';
import { DevicePanel } from './ui/DevicePanel';
import { FacePanel } from './ui/FacePanel';
import { Gallery } from './ui/Gallery';
import { Header } from './ui/Header';
import { LoadProgress } from './ui/LoadProgress';
import { MixControls } from './ui/MixControls';
import { ModelInfo } from './ui/ModelInfo';
import { PromptBox } from './ui/PromptBox';
import { ResultView } from './ui/ResultView';
import { SavedFaces } from './ui/SavedFaces';
import { Sliders } from './ui/Sliders';
import { useLiveGeneration, usePromptInfo } from './ui/useLiveGeneration';

interface AppProps {
  bundleName: string;
  offline: OfflineStatus;
  onForgotten: (report: ForgetReport) => void;
}

export function App({ bundleName, offline, onForgotten }: AppProps) {
  useLiveGeneration();
  usePromptInfo();
  return (
    <>
      <Header bundleName={bundleName} />
      <LoadProgress />
      <Alerts />
      <main className="layout">
        <div className="column">
          <FacePanel slot="A" />
          <FacePanel slot="B" />
          <SavedFaces />
        </div>
        <div className="column">
          <PromptBox />
          <MixControls />
          <Sliders />
          <ModelInfo />
          <DevicePanel offline={offline} onForgotten={onForgotten} />
        </div>
        <div className="column">
          <ResultView />
          <Gallery />
        </div>
      </main>
    </>
  );
}
