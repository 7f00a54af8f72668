import type { ForgetReport } from './offline/deviceData';
import type { OfflineStatus } from './offline/serviceWorkerClient';
import { Alerts } from './ui/components/Alerts';
import { DevicePanel } from './ui/components/DevicePanel';
import { FacePanel } from './ui/components/FacePanel';
import { Gallery } from './ui/components/Gallery';
import { Header } from './ui/components/Header';
import { LoadProgress } from './ui/components/LoadProgress';
import { MixControls } from './ui/components/MixControls';
import { ModelInfo } from './ui/components/ModelInfo';
import { PromptBox } from './ui/components/PromptBox';
import { ResultView } from './ui/components/ResultView';
import { SavedFaces } from './ui/components/SavedFaces';
import { Sliders } from './ui/components/Sliders';
import { useLiveGeneration, usePromptInfo } from './ui/hooks/useLiveGeneration';

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
